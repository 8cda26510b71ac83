#!/usr/bin/env python3
"""Where a run's time goes: the profiling half of bench/run --profile.

It runs inside the systemd that hosts the servers. For each pyrunner variant (cold, warm)
it sends hello-world runs one at a time, with systemd's log level at debug for the
duration, then lines up what systemd logged about each run's unit with the moments the
client sent the request and got the answer. Both sides use CLOCK_MONOTONIC, which the
journal records with every entry. It prints, per variant, the median time from the
request to each step, and the median length of each stage between steps.

Debug logging slows systemd down a little, so the totals here run higher than
bench/run's latencies; the split between stages is what this is for. Requests carry
`Authorization: Bearer` with --token (by default the environment's PYRUNNER_TOKEN).
"""

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse

# systemd's own messages about a unit, in the order they come, and the step each marks.
# The first match of each pattern counts; a step a variant never logs is left out.
STEPS = [
    ("job queued (StartTransientUnit arrived)", re.compile(r"Installed new job .*/start")),
    ("main process forked", re.compile(r"Forked .*pyrunner-reaper as \d+")),
    ("sandbox set up, exec of the reaper", re.compile(r"Executing: .*pyrunner-reaper")),
    ("unit running", re.compile(r"Changed start -> running")),
    # The reaper's: systemd never sees the interpreter, the reaper's child, end.
    ("main process exited", re.compile(r"Main process exited")),
    ("stop-post helper forked", re.compile(r"Forked .*pyrunner-unit-stats as \d+")),
    ("stop-post helper exited", re.compile(r"Control process exited")),
    ("unit dead", re.compile(r"Changed \S+ -> (dead|failed)")),
]
HELLO = "print('hello')"


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold-url", required=True)
    parser.add_argument("--warm-url")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--token", default=os.environ.get("PYRUNNER_TOKEN"),
                        help="sent as 'Authorization: Bearer TOKEN' (default: $PYRUNNER_TOKEN)")
    return parser.parse_args()


def submit(url, token):
    """Sends one blocking hello-world run; gives its id and the monotonic send/answer times."""
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    body = json.dumps({"code": HELLO})
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.connect()
    sent = time.monotonic_ns()
    connection.request("POST", "/run-json/", body=body, headers=headers)
    response = connection.getresponse()
    answer = response.read()
    answered = time.monotonic_ns()
    connection.close()
    run = json.loads(answer)
    if response.status != 200 or run.get("status") != "succeeded":
        raise SystemExit(f"profile: a run did not succeed: HTTP {response.status} {answer[:300]!r}")
    return run["id"], sent, answered


def unit_entries(run_id, since_realtime_us):
    """systemd's journal entries about the run's unit: (monotonic ns, message)."""
    unit = f"pyrunner-{run_id}.service"
    out = subprocess.run(
        ["journalctl", "-q", "-o", "json", f"--since=@{since_realtime_us / 1e6:.6f}",
         f"UNIT={unit}", "+", f"_SYSTEMD_UNIT={unit}"],
        capture_output=True, text=True, check=True).stdout
    entries = []
    for line in out.splitlines():
        entry = json.loads(line)
        message = entry.get("MESSAGE")
        if isinstance(message, str):
            entries.append((int(entry["__MONOTONIC_TIMESTAMP"]) * 1000, message))
    return sorted(entries)


def profile(url, token, runs):
    """Per step, the times (ms) from sending the request; and the client's totals."""
    since = time.time_ns() // 1000
    samples = []
    for _ in range(runs):
        samples.append(submit(url, token))
        # A pause, as bench/run's latency phase has, in which a warm pool refills.
        time.sleep(0.3)
    # The journal may still be writing the last entries.
    subprocess.run(["journalctl", "--sync"], check=False)
    steps = {name: [] for name, _ in STEPS}
    totals = []
    for run_id, sent, answered in samples:
        totals.append((answered - sent) / 1e6)
        entries = unit_entries(run_id, since)
        for name, pattern in STEPS:
            for when, message in entries:
                if pattern.search(message):
                    steps[name].append((when - sent) / 1e6)
                    break
    return {name: times for name, times in steps.items() if times}, totals


def report(variant, steps, totals):
    print(f"{variant}: median ms from sending the request ({len(totals)} runs)")
    previous_name, previous = "request sent", 0.0
    rows = [(name, statistics.median(times), len(times)) for name, times in steps.items()]
    rows.append(("answer received", statistics.median(totals), len(totals)))
    for name, at, count in rows:
        seen = "" if count == len(totals) else f"  (logged for {count} runs)"
        print(f"  {at:8.1f}  {name:<42} +{at - previous:6.1f}  since {previous_name}{seen}")
        previous_name, previous = name, at


def main():
    args = parse_args()
    level = subprocess.run(["systemd-analyze", "get-log-level"], capture_output=True, text=True,
                           check=True).stdout.strip()
    subprocess.run(["systemd-analyze", "set-log-level", "debug"], check=True)
    try:
        variants = [("cold", args.cold_url)] + ([("warm", args.warm_url)] if args.warm_url else [])
        for variant, url in variants:
            # The first runs pay for caches filling; they are not the steady state.
            for _ in range(3):
                submit(url, args.token)
            steps, totals = profile(url, args.token, args.runs)
            report(variant, steps, totals)
    finally:
        subprocess.run(["systemd-analyze", "set-log-level", level], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
