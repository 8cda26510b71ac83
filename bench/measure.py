#!/usr/bin/env python3
"""The measuring half of bench/run; it runs inside the systemd that hosts the servers.

Four ways to run a hello-world script, measured on the same machine in one go:
  (a) cold         pyrunner over HTTP, a front without a warm pool
  (b) warm         pyrunner over HTTP, a front with a warm pool (when the build has one)
  (c) systemd-run  systemd-run --wait --pipe with a run unit's properties
  (d) python       /usr/bin/python3 -c 'print(1)'

Latency: the variants take turns (a, b, c, d, a, b, ...), one run at a time with a pause
before each, each run timed with perf_counter around the whole request. Throughput: for
each concurrency, each variant in turn has that many workers loop for --seconds. The
servers' CPU time (front, broker, and systemd itself) is read from /proc before and after
each throughput phase, which has one variant alone on the machine, and so is the whole
machine's, the run units' (their slice's cgroup) and this process' own with its children
(systemd-run for (c)); the servers' peak RSS is VmHWM at the end. Where pyrunner has its
datascience environment, a script importing numpy and pandas is timed through each variant
too (in that environment).

It prints tables and ratio lines, then everything as one JSON line; the exit status is 1
if any run failed (its results are still printed) and 2 on bad usage. Requests to the servers
carry `Authorization: Bearer` with --token (by default the environment's PYRUNNER_TOKEN).
"""

import argparse
import ctypes
import glob
import http.client
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

PYTHON = "/usr/bin/python3"
HELLO = "print('hello')"
HEAVY = "import numpy, pandas; print(1)"
# pandas needs more than the default 256 MB to import; the same limits for (c) below.
HEAVY_LIMITS = {"memory_mb": 512, "wall_time_s": 30}
HEAVY_PROPERTIES = ["MemoryMax=512M", "RuntimeMaxSec=30", "LimitCPU=30:31"]
HEAVY_ENVIRONMENT = "datascience"
# What the default environment hides from a run (docs/environments.md), for (c) too.
DEFAULT_PROPERTIES = ["InaccessiblePaths=" + " ".join(
    f"-{path}" for path in ["/usr/lib/python3/dist-packages", "/usr/local/lib",
                            *glob.glob("/usr/lib/python3.*/dist-packages")])]
HEAVY_RUNS = 20
# Untimed runs per variant first: the first run of each path pays for cold caches.
WARMUP_RUNS = 3
# Work a run leaves behind once it has answered (a warm pool starting the next unit, a
# unit's stop-post helper and collection) would otherwise land on the next variant's run:
# the latency phase pauses this long between runs, the throughput phases SETTLE_S.
PAUSE_S = 0.25
SETTLE_S = 2
RUN_TIMEOUT_S = 60
MAX_MESSAGES = 5
PERCENTILES = (50, 90, 99)


def auth_headers(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


class HttpRun:
    """One blocking POST /run-json/ per call over a keep-alive connection of its own."""

    def __init__(self, url, token, code, expected, limits=None, environment=None):
        parsed = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=RUN_TIMEOUT_S)
        request = {"code": code}
        if limits:
            request["limits"] = limits
        if environment:
            request["environment"] = environment
        self.body = json.dumps(request)
        self.expected = expected
        self.headers = {"Content-Type": "application/json", "Connection": "keep-alive",
                        **auth_headers(token)}

    def __call__(self):
        """None when the run succeeded with the expected output, else why not."""
        # The server closes a connection after each answer unless asked to keep it.
        try:
            self.connection.request("POST", "/run-json/", body=self.body, headers=self.headers)
            response = self.connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            return f"transport: {error!r}"
        if response.status != 200:
            return f"HTTP {response.status}: {body[:200]!r}"
        try:
            run = json.loads(body)
        except ValueError:
            return f"not JSON: {body[:200]!r}"
        if run.get("status") != "succeeded" or run.get("stdout") != self.expected:
            return f"run {run.get('status')}: stdout {run.get('stdout')!r} stderr {run.get('stderr')!r}"
        return None


class CommandRun:
    def __init__(self, argv, expected):
        self.argv = argv
        self.expected = expected

    def __call__(self):
        try:
            done = subprocess.run(self.argv, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=RUN_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            return f"timed out after {RUN_TIMEOUT_S}s"
        if done.returncode != 0 or done.stdout != self.expected:
            return f"exit {done.returncode}: stdout {done.stdout!r} stderr {done.stderr.strip()[:300]!r}"
        return None


class Variant:
    """A way to run the script; make() gives a runner of one's own (a connection per worker)."""

    def __init__(self, name, make, front_unit=None):
        self.name = name
        self.make = make
        self.front_unit = front_unit
        self.errors = 0
        self.messages = []
        self.lock = threading.Lock()

    def record(self, error):
        with self.lock:
            self.errors += 1
            if len(self.messages) < MAX_MESSAGES:
                self.messages.append(error)


def load_average():
    with open("/proc/loadavg", encoding="ascii") as loadavg:
        return [float(value) for value in loadavg.read().split()[:3]]


def read_properties(path):
    with open(path, encoding="utf-8") as lines:
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def systemd_run_argv(properties, code):
    argv = ["systemd-run", "--wait", "--pipe", "--quiet", "--collect"]
    for prop in properties:
        argv += ["-p", prop]
    return argv + [PYTHON, "-I", "-B", "-u", "-c", code]


def variants(args, code, expected, python_code, python_expected, limits=None, extra_properties=(),
             environment=None):
    """The four ways to run `code`; pyrunner's in `environment` (None: the default one)."""
    properties = read_properties(args.properties) + list(extra_properties)
    def http_run(url):
        return lambda: HttpRun(url, args.token, code, expected, limits, environment)

    chosen = [Variant("cold", http_run(args.cold_url), args.cold_unit)]
    if args.warm_url:
        chosen.append(Variant("warm", http_run(args.warm_url), args.warm_unit))
    chosen.append(Variant("systemd-run",
                          lambda: CommandRun(systemd_run_argv(properties, code), expected)))
    chosen.append(Variant("python",
                          lambda: CommandRun([PYTHON, "-c", python_code], python_expected)))
    return chosen


# --- the servers' processes ------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def main_pid(unit):
    shown = subprocess.run(["systemctl", "show", "-P", "MainPID", unit], capture_output=True,
                           text=True, check=True).stdout.strip()
    if shown in ("", "0"):
        sys.exit(f"measure: {unit} is not running")
    return int(shown)


def cpu_seconds(pid):
    """utime + stime of every thread of the process (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # The command name in parentheses may hold spaces; the fields follow its ")".
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds():
    """CPU time of every CPU not idle nor waiting for I/O (/proc/stat's first line)."""
    with open("/proc/stat", encoding="ascii") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (
            int(value) for value in stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def read_cpu_stat(path):
    with open(path, encoding="ascii") as stat:
        fields = dict(line.split() for line in stat if line.strip())
    return int(fields["usage_usec"]) / 1e6


def read_cpuacct_usage(path):
    with open(path, encoding="ascii") as usage:
        return int(usage.read()) / 1e9


# Where a cgroup's CPU time is, for its path: cgroup v2, alone or as the hybrid layout's
# unified hierarchy, then v1's cpuacct controller.
CGROUP_CPU_FILES = (
    ("/sys/fs/cgroup{}/cpu.stat", read_cpu_stat),
    ("/sys/fs/cgroup/unified{}/cpu.stat", read_cpu_stat),
    ("/sys/fs/cgroup/cpuacct{}/cpuacct.usage", read_cpuacct_usage),
    ("/sys/fs/cgroup/cpu,cpuacct{}/cpuacct.usage", read_cpuacct_usage),
)


def slice_cpu_reader(properties):
    """A function giving the CPU seconds of the run units' slice so far, or None: the slice's
    cgroup keeps counting what its units used after they are gone."""
    names = [prop.split("=", 1)[1] for prop in properties if prop.startswith("Slice=")]
    if not names:
        return None
    group = subprocess.run(["systemctl", "show", "-P", "ControlGroup", names[-1]],
                           capture_output=True, text=True, check=False).stdout.strip()
    if not group.startswith("/"):
        return None
    for template, read in CGROUP_CPU_FILES:
        path = template.format(group)
        if os.path.exists(path):
            return lambda: read(path)
    return None


def own_cpu_seconds():
    """This process' CPU time, with that of the children it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_rss_bytes(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


# --- measuring -------------------------------------------------------------------------

def warm_up(chosen):
    for variant in chosen:
        runner = variant.make()
        for _ in range(WARMUP_RUNS):
            error = runner()
            if error:
                sys.exit(f"measure: {variant.name} does not work: {error}")


def latency(chosen, runs):
    """Seconds of each run, per variant, the variants taking turns."""
    runners = [variant.make() for variant in chosen]
    times = {variant.name: [] for variant in chosen}
    for _ in range(runs):
        for variant, runner in zip(chosen, runners):
            time.sleep(PAUSE_S)
            started = time.perf_counter()
            error = runner()
            elapsed = time.perf_counter() - started
            if error:
                variant.record(error)
            else:
                times[variant.name].append(elapsed)
    return times


def throughput(variant, workers, seconds):
    """(completed runs, elapsed seconds): runs in flight at the deadline are waited for."""
    completed = [0] * workers
    runners = [variant.make() for _ in range(workers)]
    started = time.perf_counter()
    deadline = started + seconds

    def work(index):
        runner = runners[index]
        while time.perf_counter() < deadline:
            error = runner()
            if error:
                variant.record(error)
            else:
                completed[index] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(completed), time.perf_counter() - started


def summary(times):
    if len(times) < 2:
        return None
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    result = {f"p{p}": round(cuts[p - 1] * 1000, 2) for p in PERCENTILES}
    result["mean"] = round(statistics.fmean(times) * 1000, 2)
    result["n"] = len(times)
    return result


# --- reporting -------------------------------------------------------------------------

def print_latency(title, stats):
    print(title)
    print(f"  {'variant':<12} {'p50':>8} {'p90':>8} {'p99':>8} {'mean':>8} {'runs':>6}")
    for name, row in stats.items():
        if row is None:
            print(f"  {name:<12} {'(too few successful runs)':>40}")
            continue
        print(f"  {name:<12} {row['p50']:>8.1f} {row['p90']:>8.1f} {row['p99']:>8.1f} "
              f"{row['mean']:>8.1f} {row['n']:>6}")


def ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)


def p50(stats, name):
    row = stats.get(name)
    return row["p50"] if row else None


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold-url", required=True)
    parser.add_argument("--cold-unit", required=True)
    parser.add_argument("--warm-url")
    parser.add_argument("--warm-unit")
    parser.add_argument("--broker-unit", required=True)
    parser.add_argument("--properties", required=True, help="the run unit's properties, one per line")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", default="1,4,8")
    parser.add_argument("--note", action="append", default=[], help="printed with the results")
    parser.add_argument("--token", default=os.environ.get("PYRUNNER_TOKEN"),
                        help="sent as 'Authorization: Bearer TOKEN' (default: $PYRUNNER_TOKEN)")
    args = parser.parse_args()
    try:
        args.concurrency = [int(level) for level in args.concurrency.split(",")]
    except ValueError:
        parser.error("--concurrency takes whole numbers separated by commas")
    if args.runs < 2 or args.seconds <= 0 or min(args.concurrency) < 1:
        parser.error("--runs must be at least 2, --seconds and each concurrency above 0")
    return args


def measure_throughput(chosen, counters, concurrency, seconds):
    """(runs/s per variant and concurrency, CPU seconds per run per variant and counter).

    `counters` maps a name to a function giving CPU seconds so far; "front <variant>" ones
    count for their variant only, as "front"."""
    rates = {variant.name: {} for variant in chosen}
    used = {variant.name: {} for variant in chosen}
    completed_runs = {variant.name: 0 for variant in chosen}
    for workers in concurrency:
        for variant in chosen:
            time.sleep(SETTLE_S)
            watched = {name: read for name, read in counters.items()
                       if not name.startswith("front ")}
            if variant.front_unit:
                watched["front"] = counters[f"front {variant.name}"]
            before = {name: read() for name, read in watched.items()}
            completed, elapsed = throughput(variant, workers, seconds)
            for name, read in watched.items():
                used[variant.name][name] = used[variant.name].get(name, 0.0) + read() - before[name]
            completed_runs[variant.name] += completed
            rates[variant.name][workers] = round(completed / elapsed, 2)

    per_run = {}
    for variant in chosen:
        runs = max(completed_runs[variant.name], 1)
        row = {name: seconds_used / runs for name, seconds_used in used[variant.name].items()}
        # No server of its own: the broker's share is the fronts' leftovers, and goes to "rest".
        server = row["front"] + row["broker"] if variant.front_unit else 0.0
        if "machine" in row:
            row["rest"] = row["machine"] - server - sum(
                row.get(name, 0.0) for name in ("units", "systemd", "client"))
        if variant.front_unit:
            row["server"] = server
        else:
            del row["broker"]
        per_run[variant.name] = {name: round(value, 5) for name, value in row.items()}
    return rates, per_run


def throughput_bounds(per_run):
    """What pyrunner/(c) throughput cannot exceed where both keep every CPU busy: pyrunner's
    units cost at least (c)'s (the same properties, and more), so (c)'s machine CPU per run
    over that of its unit, alone and with what PID 1 spends on a pyrunner run."""
    c = per_run.get("systemd-run", {})
    if not c.get("units") or "machine" not in c or "systemd" not in per_run.get("cold", {}):
        return {}
    return {"unit only": ratio(c["machine"], c["units"]),
            "unit and PID 1": ratio(c["machine"], c["units"] + per_run["cold"]["systemd"])}


def print_throughput(rates, per_run, rss, concurrency, seconds):
    print(f"throughput, runs/s ({seconds:g} s per cell)")
    print(f"  {'variant':<12}" + "".join(f" {'c' + str(w):>8}" for w in concurrency))
    for name, row in rates.items():
        print(f"  {name:<12}" + "".join(f" {row[w]:>8.1f}" for w in concurrency))
    print()
    roles = ("server", "front", "broker", "systemd")
    print("CPU seconds per run in the throughput phases (server = front + broker; systemd = PID 1)")
    print(f"  {'variant':<12}" + "".join(f" {role:>9}" for role in roles))
    for name, row in per_run.items():
        print(f"  {name:<12}" + "".join(
            f" {row[role]:>9.4f}" if role in row else f" {'-':>9}" for role in roles))
    print("server peak RSS (VmHWM): " + ", ".join(
        f"{role} {value / 2**20:.1f} MiB" for role, value in rss.items()))
    print()
    parts = ("machine", "units", "systemd", "server", "client", "rest")
    print("the machine's CPU ms per run in the throughput phases: units = inside the run units "
          "(sandbox set-up, Python, pyrunner's reaper and stop-post helper); systemd = PID 1; "
          "client = this benchmark with its children (systemd-run for (c)); rest = the others "
          "(dbus-daemon, the kernel's threads, ...)")
    print(f"  {'variant':<12}" + "".join(f" {part:>8}" for part in parts))
    for name, row in per_run.items():
        print(f"  {name:<12}" + "".join(
            f" {row[part] * 1000:>8.1f}" if part in row else f" {'-':>8}" for part in parts))


def has_environment(url, token, name):
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=RUN_TIMEOUT_S)
    try:
        connection.request("GET", "/environments", headers=auth_headers(token))
        response = connection.getresponse()
        listed = json.loads(response.read()) if response.status == 200 else {}
    except (OSError, http.client.HTTPException, ValueError):
        return False
    finally:
        connection.close()
    return any(env.get("name") == name for env in listed.get("environments", []))


def measure_heavy(args):
    """numpy + pandas latency per variant and the variants (for their failures), or None."""
    if not has_environment(args.cold_url, args.token, HEAVY_ENVIRONMENT):
        print(f"numpy + pandas: skipped (pyrunner has no {HEAVY_ENVIRONMENT} environment here)")
        return None, []
    heavy_variants = variants(args, HEAVY, "1\n", HEAVY, "1\n", HEAVY_LIMITS, HEAVY_PROPERTIES,
                              HEAVY_ENVIRONMENT)
    warm_up(heavy_variants)
    heavy = {name: summary(times) for name, times in latency(heavy_variants, HEAVY_RUNS).items()}
    print_latency(f"numpy + pandas import, ms (interleaved, {HEAVY_RUNS} runs each)", heavy)
    return heavy, heavy_variants


def ratios_of(latency_stats, rates, concurrency):
    """The ratios, and which server stands for pyrunner in the throughput ones."""
    ratios = {}
    for numerator in ("cold", "warm"):
        for denominator in ("systemd-run", "python"):
            ratios[f"{numerator}/{denominator} p50"] = ratio(p50(latency_stats, numerator),
                                                             p50(latency_stats, denominator))
    ratios["warm/cold p50"] = ratio(p50(latency_stats, "warm"), p50(latency_stats, "cold"))
    top = max(concurrency)
    server = "warm" if "warm" in rates else "cold"
    for denominator in ("systemd-run", "python"):
        ratios[f"throughput c{top} pyrunner/{denominator}"] = ratio(rates[server][top],
                                                                    rates[denominator][top])
    return ratios, server


def die_with_parent():
    """bench/run, stopping, ends this process' parent (nsenter, or itself on a systemd host);
    without this a stopped benchmark would go on measuring a machine that is going away."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def main():
    args = parse_args()
    die_with_parent()
    chosen = variants(args, HELLO, "hello\n", "print(1)", "1\n", extra_properties=DEFAULT_PROPERTIES)
    pids = {"broker": main_pid(args.broker_unit), "systemd": 1}
    for variant in chosen:
        if variant.front_unit:
            pids[f"front {variant.name}"] = main_pid(variant.front_unit)
    counters = {name: (lambda pid=pid: cpu_seconds(pid)) for name, pid in pids.items()}
    counters["machine"] = machine_busy_seconds
    counters["client"] = own_cpu_seconds
    units = slice_cpu_reader(read_properties(args.properties))
    if units:
        counters["units"] = units

    for note in args.note:
        print(f"note: {note}")
    # Anything else busy on the machine skews every figure; this shows whether it was.
    load_before = load_average()
    print("load average before (1, 5, 15 min): " + " ".join(f"{value:.2f}" for value in load_before))
    print(f"variants: {', '.join(variant.name for variant in chosen)}; {args.runs} runs each for "
          f"latency, {args.seconds:g} s per variant and concurrency for throughput", flush=True)
    warm_up(chosen)
    latency_stats = {name: summary(times) for name, times in latency(chosen, args.runs).items()}
    print()
    print_latency(f"latency, ms (interleaved, {args.runs} runs each, one at a time)", latency_stats)
    print(flush=True)

    rates, per_run = measure_throughput(chosen, counters, args.concurrency, args.seconds)
    rss = {role: peak_rss_bytes(pid) for role, pid in pids.items() if role != "systemd"}
    print_throughput(rates, per_run, rss, args.concurrency, args.seconds)
    print(flush=True)

    heavy, heavy_variants = measure_heavy(args)
    print()

    ratios, server = ratios_of(latency_stats, rates, args.concurrency)
    for name, value in ratios.items():
        if value is not None:
            print(f"ratio {name}: {value:.2f}")
    print(f"(pyrunner in the throughput ratios: the {server} server)")
    bounds = throughput_bounds(per_run)
    if bounds:
        print(f"bound on throughput pyrunner/systemd-run where the CPUs are busy: "
              f"{bounds['unit only']:.2f} if nothing but (c)'s unit used CPU, "
              f"{bounds['unit and PID 1']:.2f} with PID 1's share of a pyrunner run")

    failures = {variant.name: variant for variant in chosen}
    failures.update({f"{variant.name} numpy+pandas": variant for variant in heavy_variants})
    failed = {name: {"errors": variant.errors, "messages": variant.messages}
              for name, variant in failures.items() if variant.errors}
    for name, what in failed.items():
        print(f"FAILED runs of {name}: {what['errors']}; first: {what['messages'][0]}")
    print(json.dumps({
        "runs": args.runs, "seconds": args.seconds, "concurrency": args.concurrency,
        "variants": [variant.name for variant in chosen], "notes": args.note,
        "load_average_before": load_before,
        "latency_ms": latency_stats,
        "throughput_runs_per_s": rates,
        "cpu_s_per_run": per_run,
        "peak_rss_bytes": rss,
        "numpy_pandas_ms": heavy,
        "throughput_pyrunner": server,
        "ratios": ratios,
        "throughput_bounds": bounds,
        "failed": failed,
    }))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
