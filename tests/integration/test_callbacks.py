"""callback_url: a finished run is posted, signed with its tenant's key, to a receiver under a
prefix the operator allows; refused answers are retried, and a restart of the server loses
none. The receiver is an HTTP server of the test's own on this machine's loopback, which the
test machine shares."""

import hashlib
import hmac
import http.server
import json
import secrets
import threading

import pytest

from api_client import describe
from test_config import write_config
from tokens import create_token, revoke_tenant

# Generous: the first retries come after 1, 2 and 4 seconds.
DELIVERY_TIMEOUT_S = 60


class Receiver:
    """Collects the POSTs it gets; answers each with the next of `statuses`, then 200."""

    def __init__(self):
        self.posts = []
        self.statuses = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.changed:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.posts.append((self.path, dict(self.headers), body, status))
                    receiver.changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.http.server_address[1]
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, *statuses):
        with self.changed:
            self.statuses.extend(statuses)

    def wait_for(self, count, timeout_s=DELIVERY_TIMEOUT_S):
        """The first `count` posts, once they have come."""
        with self.changed:
            arrived = self.changed.wait_for(lambda: len(self.posts) >= count, timeout=timeout_s)
            assert arrived, f"{len(self.posts)} of {count} callbacks came in {timeout_s}s"
            return list(self.posts[:count])

    def close(self):
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def receiver(machine):
    if machine.listen_host != "127.0.0.1":
        pytest.skip("the receiver is on this machine's loopback, which only nspawn shares")
    started = Receiver()
    yield started
    started.close()


@pytest.fixture
def tenant(machine):
    """(token, callback key) of a tenant of the test's own, revoked after."""
    name = f"cb_{secrets.token_hex(4)}"
    token = create_token(machine, name)
    key = machine.run(machine.pyrunnerd, "token", "key", name).stdout
    assert key.endswith("\n") and len(key.strip()) == 64, key
    yield token, key.strip()
    revoke_tenant(machine, name)


@pytest.fixture
def callbacks_server(machine, server_factory, receiver):
    """A server that allows callbacks to the receiver's /hooks/ alone."""
    path = write_config(machine, f'[callbacks]\nallow = ["http://127.0.0.1:{receiver.port}/hooks/"]\n')
    yield server_factory(extra_args=("--config", path))
    machine.run("rm", "-f", path)


def signature(key, body):
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def signed_run(post, key, path):
    """The Run object a post carried, once its path, headers and signature are checked."""
    got_path, headers, body, _ = post
    assert got_path == path
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("pyrunner/")
    assert hmac.compare_digest(headers["X-Pyrunner-Signature"], signature(key, body)), headers
    run = json.loads(body)
    assert headers["X-Pyrunner-Run"] == run["id"]
    return run


def test_a_finished_run_is_posted_once_signed_with_the_tenants_key(callbacks_server, receiver, tenant):
    token, key = tenant
    client = callbacks_server.as_tenant(token)
    url = f"http://127.0.0.1:{receiver.port}/hooks/first?x=1"
    run = client.submit("print('called back')", callback_url=url)
    assert run["callback_url"] == url
    plain = client.submit("print('no callback')")
    final = client.wait_until_final(run["id"])
    (post,) = receiver.wait_for(1)
    delivered = signed_run(post, key, "/hooks/first?x=1")
    assert delivered == client.get_run(run["id"]), delivered
    assert delivered["status"] == final["status"] == "succeeded"
    assert delivered["stdout"] == "called back\n"
    # A run without a callback_url shows null and posts nothing.
    assert client.wait_until_final(plain["id"])["callback_url"] is None
    assert len(receiver.posts) == 1


def test_a_url_outside_the_allowed_prefixes_is_refused(callbacks_server, receiver, tenant):
    client = callbacks_server.as_tenant(tenant[0])
    for url in (f"http://127.0.0.1:{receiver.port}/elsewhere",
                f"http://127.0.0.1:{receiver.port}/hooks/../admin",
                f"http://127.0.0.1:{receiver.port}0/hooks/x",
                "file:///etc/passwd"):
        response = client.post("/run-json/", json={"code": "print(1)", "callback_url": url})
        assert response.status_code == 400, describe(response)
        assert "callback_url" in response.json()["error"], describe(response)


def test_a_server_that_allows_none_refuses_every_callback(server):
    response = server.post("/run-json/", json={"code": "print(1)",
                                               "callback_url": "http://127.0.0.1:9/hooks/x"})
    assert response.status_code == 400, describe(response)
    assert "accepts no callback_url" in response.json()["error"]


def test_a_refused_callback_is_retried_until_delivered(callbacks_server, receiver, tenant):
    token, key = tenant
    client = callbacks_server.as_tenant(token)
    receiver.answer(500, 503)
    run = client.submit("print(2)", callback_url=f"http://127.0.0.1:{receiver.port}/hooks/r")
    posts = receiver.wait_for(3)
    assert [status for *_, status in posts] == [500, 503, 200]
    assert len({body for _, _, body, _ in posts}) == 1, "every attempt posts the same Run object"
    for post in posts:
        assert signed_run(post, key, "/hooks/r")["id"] == run["id"]


def test_a_callback_pending_across_a_restart_is_still_delivered(callbacks_server, receiver, tenant,
                                                              restart):
    token, key = tenant
    client = callbacks_server.as_tenant(token)
    # Refused until the server has been restarted.
    receiver.answer(*([500] * 100))
    run = client.submit("print(3)", callback_url=f"http://127.0.0.1:{receiver.port}/hooks/d")
    receiver.wait_for(1)

    restarted = restart(callbacks_server)
    with receiver.changed:
        receiver.statuses.clear()
        seen = len(receiver.posts)
    posts = receiver.wait_for(seen + 1)
    delivered = posts[-1]
    assert delivered[3] == 200
    body = signed_run(delivered, key, "/hooks/d")
    assert body["id"] == run["id"] and body["status"] == "succeeded"
    assert restarted.as_tenant(token).get_run(run["id"])["callback_url"].endswith("/hooks/d")
