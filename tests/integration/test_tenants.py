"""Tokens and tenants (docs/operations.md, "Tokens and tenants"): who may call, whose runs
each caller sees, each tenant's share of the queue and of the machine, and what operators
see of it. The tokens are made with `pyrunnerd token` as an operator makes them."""

import re
import statistics
import time

import pytest

from api_client import describe
from tokens import create_token, revoke_tenant
from deployment import SLOWDOWN
from test_config import write_config

# A run that leaves a file, so that every endpoint that names a run has something to show.
LEAVES_A_FILE = "open('out/report.txt', 'w').write('mine'); print('done')"
# Waits until told (its stdin closes at once, so it waits on a long sleep instead).
SLEEPS = "import time; time.sleep(60)"


def unique(prefix):
    return f"{prefix}_{time.monotonic_ns() % 10**9}"


@pytest.fixture
def tenants(machine):
    """make(name, *options) -> token of a new tenant; every tenant made is revoked after."""
    made = []

    def make(prefix, *options):
        name = unique(prefix)
        made.append(name)
        return create_token(machine, name, *options), name

    yield make
    for name in made:
        revoke_tenant(machine, name)


def challenge(response):
    return response.headers.get("WWW-Authenticate", "")


@pytest.mark.vm
def test_without_a_token_only_health_and_the_description_answer(server):
    anonymous = server.as_tenant(None)
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/openapi.json").status_code == 200
    for method, path in (("GET", "/runs/0123"), ("GET", "/environments"), ("GET", "/metrics"),
                         ("POST", "/run-json/"), ("DELETE", "/runs/0123"), ("GET", "/nowhere")):
        response = anonymous.request(method, path, json={"code": "print(1)"})
        assert response.status_code == 401, describe(response)
        assert challenge(response) == 'Bearer realm="pyrunner"', response.headers
        assert response.json()["error"].startswith("This request needs a token"), describe(response)


@pytest.mark.vm
def test_a_new_token_works_at_once_and_a_revoked_one_stops_at_once(machine, server, tenants):
    token, name = tenants("now")
    client = server.as_tenant(token)
    run = client.run("print('hi')")
    assert run["status"] == "succeeded" and run["tenant"] == name, run
    revoke_tenant(machine, name)
    refused = client.get(f"/runs/{run['id']}")
    assert refused.status_code == 401, describe(refused)
    assert challenge(refused) == 'Bearer realm="pyrunner", error="invalid_token"'
    # The admin still sees the run of a tenant that is gone.
    assert server.get_run(run["id"])["tenant"] == name


def test_tokens_are_stored_hashed_and_the_file_is_private(machine, tenants):
    token, name = tenants("stored")
    listed = machine.run(machine.pyrunnerd, "token", "list").stdout
    assert name in listed, listed
    assert token not in listed
    text = machine.run("cat", "/etc/pyrunner/tokens").stdout
    assert token not in text and token[4:] not in text
    assert name in text
    mode = machine.run("stat", "-c", "%a %U %G", "/etc/pyrunner/tokens", "/etc/pyrunner").stdout.split("\n")
    assert mode[0] == "640 root pyrunner", mode
    assert mode[1] == "750 root pyrunner", mode


@pytest.mark.vm
def test_metrics_need_an_admin(server, tenants):
    token, _ = tenants("plain")
    refused = server.as_tenant(token).get("/metrics")
    assert refused.status_code == 403, describe(refused)
    assert 'error="insufficient_scope"' in challenge(refused)
    assert server.get("/metrics").status_code == 200


def endpoints(run_id):
    """Every request that names a run, as (method, path)."""
    return [("GET", f"/runs/{run_id}"), ("GET", f"/status/{run_id}"),
            ("GET", f"/runs/{run_id}/stdout"), ("GET", f"/runs/{run_id}/stderr"),
            ("GET", f"/runs/{run_id}/events"),
            ("GET", f"/runs/{run_id}/files/report.txt"), ("GET", f"/runs/{run_id}/files.zip"),
            ("DELETE", f"/runs/{run_id}")]


@pytest.mark.vm
def test_another_tenants_run_is_not_there_on_any_endpoint(server, tenants):
    alice = server.as_tenant(tenants("alice")[0])
    bob = server.as_tenant(tenants("bob")[0])
    run = alice.run(LEAVES_A_FILE)
    assert run["status"] == "succeeded" and run["files"], run
    # An unknown id of the same shape, so that only the id differs in the answers.
    unknown = "f" * len(run["id"])
    for (method, path), (_, unknown_path) in zip(endpoints(run["id"]), endpoints(unknown)):
        foreign = bob.request(method, path)
        missing = bob.request(method, unknown_path)
        assert foreign.status_code == missing.status_code == 404, describe(foreign)
        assert foreign.text.replace(run["id"], unknown) == missing.text, (foreign.text, missing.text)
        same = ("Content-Type", "Content-Length", "WWW-Authenticate", "Retry-After")
        assert [foreign.headers.get(h) for h in same] == [missing.headers.get(h) for h in same]
    # Its owner and the admin still see all of it; bob's DELETE cancelled nothing.
    for client in (alice, server):
        for method, path in endpoints(run["id"])[:-1]:
            assert client.request(method, path).status_code == 200, path
    assert alice.get_run(run["id"])["status"] == "succeeded"


def test_a_foreign_ids_404_takes_as_long_as_an_unknown_ids(server, tenants):
    """Interleaved, so that the machine's load falls on both alike. The bound is loose: it
    catches a lookup that differs (a file read, a second query), not scheduling noise."""
    alice = server.as_tenant(tenants("alice")[0])
    bob = server.as_tenant(tenants("bob")[0])
    run = alice.run("print(1)")
    unknown = "e" * len(run["id"])
    foreign_ms, unknown_ms = [], []
    for _ in range(300):
        for run_id, times in ((run["id"], foreign_ms), (unknown, unknown_ms)):
            started = time.perf_counter()
            assert bob.get(f"/runs/{run_id}/stdout").status_code == 404
            times.append((time.perf_counter() - started) * 1000)
    foreign_p50, unknown_p50 = statistics.median(foreign_ms), statistics.median(unknown_ms)
    assert abs(foreign_p50 - unknown_p50) < max(0.3, 0.25 * unknown_p50), (foreign_p50, unknown_p50)


def test_a_tenants_queue_share_is_refused_for_it_alone(server_factory, tenants):
    server = server_factory(max_running=4, max_queued=16)
    capped = server.as_tenant(tenants("capped", "--max-running", "1", "--max-queued", "1")[0])
    other = server.as_tenant(tenants("other")[0])
    first = capped.submit(SLEEPS)
    second = capped.submit(SLEEPS)
    capped.wait_until_running(first["id"])
    assert capped.get_run(second["id"])["status"] == "queued"
    refused = capped.post("/run-json/", json={"code": "print(1)", "wait": False})
    assert refused.status_code == 429, describe(refused)
    assert int(refused.headers["Retry-After"]) >= 1
    assert "your share" in refused.json()["error"]
    # The server itself has room: another tenant's run starts at once.
    assert other.run("print('room')")["stdout"] == "room\n"
    for run in (first, second):
        assert capped.delete(f"/runs/{run['id']}").status_code == 200


def test_a_burst_delays_another_tenants_run_by_at_most_one_slot(server_factory, tenants):
    """Tenant A queues 200 runs at once; B's run, submitted after, starts at the next slot
    that frees, not after A's queue (docs/operations.md, "The fair queue")."""
    server = server_factory(max_running=2, max_queued=250)
    a = server.as_tenant(tenants("burst")[0])
    b = server.as_tenant(tenants("single")[0])
    burst = [a.submit("import time; time.sleep(0.2)")["id"] for _ in range(200)]
    mine = b.submit("print('b')")
    finished = b.wait_until_final(mine["id"], timeout_s=60)
    assert finished["status"] == "succeeded", finished
    a_runs = [a.get_run(run_id) for run_id in burst]
    accepted, started = parse(finished["created_at"]), parse(finished["started_at"])
    # A slot frees as a run ends, and the next run is chosen there and then: the first of A's
    # runs to end after B was accepted freed the slot B should take.
    freed = min(parse(run["finished_at"]) for run in a_runs
                if run.get("finished_at") and parse(run["finished_at"]) > accepted)
    # A's runs chosen after that and before B; one may still be starting from the other slot.
    overtaking = [run for run in a_runs if run.get("started_at") and freed < parse(run["started_at"]) < started]
    assert freed < started, (freed, started)
    assert len(overtaking) <= 1, (len(overtaking), started - accepted)
    for run in a_runs:
        if run["status"] in ("queued", "running"):
            a.delete(f"/runs/{run['id']}")


def parse(timestamp):
    from api_client import parse_time
    return parse_time(timestamp).timestamp()


def slice_property(machine, tenant, name):
    return machine.run("systemctl", "show", "--value", "-p", name, f"pyrunner-{tenant}.slice").stdout.strip()


@pytest.mark.vm
def test_each_tenants_runs_are_held_to_its_slices_cap(machine, server_factory, tenants):
    """Two tenants, two CPU-bound runs each, all four at once on two CPUs: each tenant's runs
    together get no more CPU than its slice's cap, whatever the other does."""
    server = server_factory(max_running=4, max_queued=8)
    caps = {"slow": 30, "fast": 90}
    clients = {}
    for prefix, percent in caps.items():
        token, name = tenants(prefix, "--cpu-percent", str(percent), "--memory-mb", "512")
        clients[prefix] = (server.as_tenant(token), name)
    seconds = 4 * SLOWDOWN
    busy = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"
    limits = {"wall_time_s": seconds + 30, "cpu_time_s": seconds + 30}
    submitted = {prefix: [client.submit(busy, limits=limits)["id"] for _ in range(2)]
                 for prefix, (client, _) in clients.items()}
    for prefix, ids in submitted.items():
        client, name = clients[prefix]
        running = client.wait_until_running(ids[0], timeout_s=60)
        assert machine.run("systemctl", "show", "--value", "-p", "Slice", running["unit"]).stdout.strip() \
            == f"pyrunner-{name}.slice"
    cpu_s = {}
    for prefix, ids in submitted.items():
        client, name = clients[prefix]
        runs = [client.wait_until_final(run_id, timeout_s=seconds * 3 + 60) for run_id in ids]
        assert all(run["status"] == "succeeded" for run in runs), runs
        wall_s = max(run["duration_ms"] for run in runs) / 1000
        cpu_s[prefix] = sum(run["cpu_time_ms"] for run in runs) / 1000
        # The cap, with room for the accounting period's edges.
        assert cpu_s[prefix] <= caps[prefix] / 100 * wall_s * 1.15 + 0.3, (prefix, cpu_s, wall_s)
        assert slice_property(machine, name, "CPUQuotaPerSecUSec") == f"{caps[prefix] * 10}ms"
        assert slice_property(machine, name, "MemoryMax") == str(512 * 1024 * 1024)
    assert cpu_s["fast"] > 1.5 * cpu_s["slow"], cpu_s


@pytest.mark.vm
def test_the_journal_and_the_metrics_name_the_tenant(machine, server, tenants):
    token, name = tenants("seen")
    run = server.as_tenant(token).run("print('x')")
    journal = machine.journal(f"TENANT={name}", "-o", "cat")
    assert f"Run {run['id']} accepted" in journal, journal
    assert f"Run {run['id']} succeeded" in journal, journal
    metrics = server.get("/metrics").text
    assert re.search(rf'^pyrunner_tenant_runs_accepted_total{{tenant="{name}"}} 1$', metrics, re.M), metrics
    assert re.search(rf'^pyrunner_tenant_runs_finished_total{{tenant="{name}",status="succeeded"}} 1$',
                     metrics, re.M), metrics


def test_throttled_after_repeated_failures_even_with_a_good_token(machine, server_factory):
    path = write_config(machine, "[auth]\nfailed_attempts_per_minute = 5\n")
    server = server_factory(extra_args=("--config", path))
    forged = server.as_tenant("pyr_" + "A" * 43)
    for _ in range(5):
        assert forged.get("/environments").status_code == 401
    locked = forged.get("/environments")
    assert locked.status_code == 429, describe(locked)
    wait_s = int(locked.headers["Retry-After"])
    assert 1 <= wait_s <= 12, wait_s
    # While locked out, a client learns nothing, not even that a token is good.
    assert server.get("/environments").status_code == 429
    # Open endpoints stay open.
    assert server.get("/healthz").status_code == 200
    time.sleep(wait_s)
    assert server.get("/environments").status_code == 200


@pytest.fixture
def lenient_server(machine, server_factory):
    """A server that lets many wrong tokens through unthrottled, to try them all."""
    path = write_config(machine, "[auth]\nfailed_attempts_per_minute = 100000\n")
    return server_factory(extra_args=("--config", path))


def raw_request(server, head):
    """Sends `head` (a request without a body) as raw bytes; returns the status line's code."""
    import socket
    import urllib.parse
    address = urllib.parse.urlsplit(server.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(head)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer else None


@pytest.mark.parametrize("token", [
    "pyr_" + "A" * 43,                     # forged: the right shape, no such token
    "TRUNCATED",                           # the admin's token, cut short
    "OVERLONG",                            # the admin's token with one more character
    "pyr_" + "A" * 100_000,                # far too long
    "pyr_" + "é" * 43,                     # not ASCII
    "",                                    # "Bearer" and nothing
    "pyr_" + "A" * 42 + "=",               # padding is not in the alphabet
])
def test_a_token_that_is_not_exactly_a_valid_one_is_refused(lenient_server, token):
    admin = lenient_server.token
    token = {"TRUNCATED": admin[:-1], "OVERLONG": admin + "A"}.get(token, token)
    head = (f"GET /environments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Connection: close\r\n\r\n").encode()
    status = raw_request(lenient_server, head)
    # Past the server's header limits, a request may be refused before it is read at all.
    assert status in (401, 400, 413, 431), status
    assert lenient_server.get("/environments").status_code == 200


@pytest.mark.parametrize("authorization", [
    "Basic {token}",                       # another scheme
    "Bearer  {token} extra",               # a second word
    "Token {token}",
    "{token}",                             # no scheme
])
def test_a_good_token_in_the_wrong_form_is_refused(lenient_server, authorization):
    value = authorization.format(token=lenient_server.token)
    response = lenient_server.as_tenant(None).get("/environments", headers={"Authorization": value})
    assert response.status_code == 401, describe(response)


def test_headers_cannot_smuggle_a_token(lenient_server):
    good = lenient_server.token
    heads = [
        # Two Authorization headers: the first, forged, is the one that counts.
        f"GET /environments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pyr_{'B' * 43}\r\n"
        f"Authorization: Bearer {good}\r\nConnection: close\r\n\r\n",
        # A folded continuation line.
        f"GET /environments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n {good}\r\n"
        "Connection: close\r\n\r\n",
        # A bare CR inside the value.
        f"GET /environments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r{good}\r\n"
        "Connection: close\r\n\r\n",
        # The token in the query string is not a token.
        f"GET /environments?access_token={good} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ]
    for head in heads:
        status = raw_request(lenient_server, head.encode())
        assert status in (400, 401), (status, head)


@pytest.mark.parametrize("name", ["a-b", "Alice", "../x", "x.slice", "a b", "a" * 33, "1abc", "ä",
                                  "a\nb", "-", "pyrunner-x", ""])
def test_a_tenant_name_that_could_escape_a_slice_or_unit_is_refused(machine, name):
    made = machine.run(machine.pyrunnerd, "token", "create", name, check=False)
    assert made.returncode != 0, made
    assert made.stdout == "", made
    assert "letters" in made.stderr.lower() or "name" in made.stderr.lower(), made
    listed = machine.run(machine.pyrunnerd, "token", "list").stdout.splitlines()[1:]
    assert name not in [line.split()[0] for line in listed if line.strip()], listed
