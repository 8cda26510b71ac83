#!/usr/bin/env python3
"""Live runs' benchmark: how soon a printed line reaches a watcher, and what watchers cost.

    bench/events.py latency --url URL --token TOKEN [--lines 200] [--interval-ms 20]
    bench/events.py watchers --url URL --token TOKEN --pid PID [--watchers 100]

latency: one run prints --lines lines, each the wall-clock time at which it was printed
(print(..., flush=True)), --interval-ms apart; GET /runs/{id}/events reads them as they come.
A line's latency is the time it arrived at this client minus the time in it (the run and this
client read the same clock: the sandbox shares the host's). Prints p50, p99 and max in ms.

watchers: one run prints a line every 100 ms for 20 s while --watchers clients follow its
events at once. Prints the server's resident memory (VmRSS of --pid, the pyrunnerd process)
before, at its highest while they watch, and after, and checks every watcher got every line.

Standard library only; prints a human summary, then the figures as one JSON line.
"""

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

TIMEOUT_S = 120

LATENCY_CODE = """
import time
for _ in range({lines}):
    print(repr(time.time()), flush=True)
    time.sleep({interval_s})
"""

WATCHED_CODE = """
import time
for i in range(200):
    print(i, flush=True)
    time.sleep(0.1)
"""


def connect(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_S)


def submit(url, token, code):
    connection = connect(url)
    body = json.dumps({"code": code, "wait": False, "limits": {"wall_time_s": 60}}).encode()
    connection.request("POST", "/run-json/", body=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 202:
        sys.exit(f"POST /run-json/: {response.status} {data[:300]!r}")
    return json.loads(data)["id"]


def events(url, token, run_id):
    """Yields (event, data, arrival time) from the run's stream until its end."""
    connection = connect(url)
    connection.request("GET", f"/runs/{run_id}/events", headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    if response.status != 200:
        sys.exit(f"GET /runs/{run_id}/events: {response.status} {response.read()[:300]!r}")
    name, data = "message", []
    while True:
        line = response.fp.readline()
        arrived = time.time()
        if not line:
            return
        line = line.rstrip(b"\r\n").decode()
        if not line:
            if data:
                yield name, "\n".join(data), arrived
                if name == "end":
                    return
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[len("event:"):].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:"):].removeprefix(" "))


def stdout_lines(stream):
    """Yields (line, arrival time) for every whole line of the run's stdout."""
    pending = ""
    for name, data, arrived in stream:
        if name != "stdout":
            continue
        pending += json.loads(data)["data"]
        *lines, pending = pending.split("\n")
        for line in lines:
            yield line, arrived


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency(args):
    code = LATENCY_CODE.format(lines=args.lines, interval_s=args.interval_ms / 1000)
    run_id = submit(args.url, args.token, code)
    delays = [(arrived - float(line)) * 1000 for line, arrived in
              stdout_lines(events(args.url, args.token, run_id))]
    if len(delays) != args.lines:
        sys.exit(f"got {len(delays)} of {args.lines} lines")
    figures = {
        "lines": len(delays),
        "p50_ms": round(statistics.median(delays), 2),
        "p99_ms": round(percentile(delays, 0.99), 2),
        "max_ms": round(max(delays), 2),
    }
    print(f"print -> event over {len(delays)} lines: p50 {figures['p50_ms']} ms, "
          f"p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms")
    print(json.dumps(figures))


def rss_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def watchers(args):
    before = rss_kib(args.pid)
    run_id = submit(args.url, args.token, WATCHED_CODE)
    counts = [0] * args.watchers
    connected = threading.Barrier(args.watchers + 1)

    def watch(index):
        stream = events(args.url, args.token, run_id)
        first = next(stream)
        connected.wait()
        if first[0] == "stdout":
            counts[index] += json.loads(first[1])["data"].count("\n")
        for name, data, _ in stream:
            if name == "stdout":
                counts[index] += json.loads(data)["data"].count("\n")

    threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(args.watchers)]
    for thread in threads:
        thread.start()
    connected.wait()
    peak = before
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, rss_kib(args.pid))
        time.sleep(0.05)
    after = rss_kib(args.pid)
    short = [count for count in counts if count != 200]
    figures = {
        "watchers": args.watchers,
        "rss_before_kib": before,
        "rss_peak_kib": peak,
        "rss_after_kib": after,
        "per_watcher_kib": round((peak - before) / args.watchers, 1),
        "watchers_missing_lines": len(short),
    }
    print(f"{args.watchers} watchers: RSS {before} KiB before, {peak} KiB at most while they "
          f"watched, {after} KiB after; {len(short)} missed lines")
    print(json.dumps(figures))
    if short:
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("latency")
    one.add_argument("--lines", type=int, default=200)
    one.add_argument("--interval-ms", type=float, default=20)
    many = sub.add_parser("watchers")
    many.add_argument("--pid", type=int, required=True)
    many.add_argument("--watchers", type=int, default=100)
    for each in (one, many):
        each.add_argument("--url", required=True)
        each.add_argument("--token", required=True)
    args = parser.parse_args()
    if args.command == "latency":
        latency(args)
    else:
        watchers(args)


if __name__ == "__main__":
    main()
