#!/usr/bin/env python3
"""Tenants' benchmark: how fair the queue is, and what checking a token costs.

    bench/tenants.py fairness --url URL --token-a TOKEN --token-b TOKEN [--burst 200]
    bench/tenants.py auth --url URL --token TOKEN --open-url URL [--requests 2000]

fairness: tenant A submits --burst runs at once (wait=false), then tenant B submits one. It
prints B's wait (from its acceptance to its start) in ms, split into the wait for the next
slot to free and B's own start, and how many of A's queued runs were chosen before B once
that slot had freed (0: B took the very next slot). The server should have max_queued above the burst and no
per-tenant caps on either token.

auth: GET /runs/{id} of one finished run, alternately on a server that requires tokens
(--url, with --token) and on one that does not (--open-url), over one keep-alive connection
each; prints the p50 and p99 of each in ms and the difference.

Standard library only; prints a human summary, then the figures as one JSON line.
"""

import argparse
import datetime
import http.client
import json
import statistics
import sys
import time
import urllib.parse

TIMEOUT_S = 120


class Connection:
    def __init__(self, url, token=None):
        parts = urllib.parse.urlsplit(url)
        self.http = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_S)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method, path, body=None):
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body).encode()
        self.http.request(method, path, body=body, headers=headers)
        response = self.http.getresponse()
        data = response.read()
        return response.status, data

    def json(self, method, path, body=None, expect=(200,)):
        status, data = self.call(method, path, body)
        if status not in expect:
            sys.exit(f"{method} {path}: {status} {data[:300]!r}")
        return json.loads(data)


def moment(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def wait_final(connection, run_id):
    while True:
        run = connection.json("GET", f"/runs/{run_id}")
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.05)


def fairness(args):
    a = Connection(args.url, args.token_a)
    b = Connection(args.url, args.token_b)
    code = "import time; time.sleep(0.1)"
    burst = [a.json("POST", "/run-json/", {"code": code, "wait": False}, expect=(202,))["id"]
             for _ in range(args.burst)]
    mine = b.json("POST", "/run-json/", {"code": "print('b')", "wait": False}, expect=(202,))
    finished = wait_final(b, mine["id"])
    accepted, started = moment(finished["created_at"]), moment(finished["started_at"])
    a_runs = [a.json("GET", f"/runs/{run_id}") for run_id in burst]
    for run in a_runs:
        if run["status"] in ("queued", "running"):
            a.call("DELETE", f"/runs/{run['id']}")
    # A slot frees as a run ends, and the next run is chosen there and then: the first of A's
    # runs to end after B was accepted freed the slot B should take. A's runs that started
    # after that and before B are the slots B waited beyond it.
    freed = min(moment(run["finished_at"]) for run in a_runs
                if run.get("finished_at") and moment(run["finished_at"]) > accepted)
    overtaking = sum(1 for run in a_runs
                     if run.get("started_at") and freed < moment(run["started_at"]) < started)
    slot_ms = [run["duration_ms"] for run in a_runs if run["status"] == "succeeded" and run.get("duration_ms")]
    result = {
        "burst": args.burst,
        "b_wait_ms": round((started - accepted) * 1000, 1),
        "b_wait_for_a_slot_ms": round((freed - accepted) * 1000, 1),
        "b_start_ms": round((started - freed) * 1000, 1),
        "a_runs_chosen_before_b": overtaking,
        "a_run_ms_p50": round(statistics.median(slot_ms), 1) if slot_ms else None,
    }
    print(f"B waited {result['b_wait_ms']} ms: {result['b_wait_for_a_slot_ms']} ms for the next "
          f"slot to free, then {result['b_start_ms']} ms to start; {overtaking} of A's queued runs "
          f"were chosen before it (A's runs took {result['a_run_ms_p50']} ms each, p50)")
    print(json.dumps(result))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def auth(args):
    secured = Connection(args.url, args.token)
    open_ = Connection(args.open_url)
    ids = {}
    for name, connection in (("token", secured), ("none", open_)):
        ids[name] = connection.json("POST", "/run-json/", {"code": "print(1)"})["id"]
    times = {"token": [], "none": []}
    for _ in range(args.requests):
        for name, connection in (("token", secured), ("none", open_)):
            begun = time.perf_counter()
            status, _ = connection.call("GET", f"/runs/{ids[name]}")
            times[name].append((time.perf_counter() - begun) * 1000)
            if status != 200:
                sys.exit(f"GET /runs/{ids[name]} ({name}): {status}")
    result = {name: {"p50_ms": round(statistics.median(values), 3),
                     "p99_ms": round(percentile(values, 0.99), 3)} for name, values in times.items()}
    result["p50_difference_ms"] = round(result["token"]["p50_ms"] - result["none"]["p50_ms"], 3)
    print(f"GET /runs/ID with a token: p50 {result['token']['p50_ms']} ms, p99 "
          f"{result['token']['p99_ms']} ms; without authentication: p50 "
          f"{result['none']['p50_ms']} ms, p99 {result['none']['p99_ms']} ms")
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    fair = commands.add_parser("fairness")
    fair.add_argument("--url", required=True)
    fair.add_argument("--token-a", required=True)
    fair.add_argument("--token-b", required=True)
    fair.add_argument("--burst", type=int, default=200)
    cost = commands.add_parser("auth")
    cost.add_argument("--url", required=True)
    cost.add_argument("--token", required=True)
    cost.add_argument("--open-url", required=True)
    cost.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    (fairness if args.command == "fairness" else auth)(args)


if __name__ == "__main__":
    main()
