#!/usr/bin/env python3
"""The files half of bench/run (bench/run --files): what the largest files a run may bring and
leave cost, run through one front inside the systemd that hosts it.

Two cases, each run --runs times:
  largest  a tar.gz of 16 files of 16 MiB less 4 KiB (files_bytes' maximum with the script;
           compressible, so that the body stays under max_request_mb) unpacked into the run,
           which copies all of it
           to out/, collected back (256 MiB), then fetched whole as files.zip;
  most     10 000 files (files_count's maximum) in, as a tar and the script, and 9 999 out.

For each: the time of the blocking request, the run's own duration, and what is left of the
first once the run is taken away (the unpacking, the collection and the digests: the cost of
the files); the time to fetch the zip; the peak RSS (VmHWM, reset before each run through
/proc/PID/clear_refs) of the front and of the broker. Prints a table, then one JSON line.
Requests carry `Authorization: Bearer` with --token (by default the environment's
PYRUNNER_TOKEN).
"""

import argparse
import gzip
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.parse

MIB = 1024 * 1024
LARGEST_FILES = 16
# Room for the script beside them within files_bytes.
LARGEST_EACH = 16 * MIB - 4096
# files_count's maximum, the script among them.
MOST_FILES = 9999
COPY_ALL = """
import os, shutil
for root, _, names in os.walk("data"):
    for name in names:
        source = os.path.join(root, name)
        target = os.path.join("out", os.path.relpath(source, "data"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(source, target)
print(sum(len(n) for _, _, n in os.walk("out")))
"""
LIMITS = {"files_count": MOST_FILES + 1, "files_bytes": 256 * MIB, "disk_mb": 1024,
          "memory_mb": 2048, "wall_time_s": 60, "cpu_time_s": 60}


def tar_gz(members):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=6)


def largest():
    block = bytes(range(256)) * (LARGEST_EACH // 256)
    return tar_gz((f"data/part-{i:02}.bin", block) for i in range(LARGEST_FILES))


def most():
    return tar_gz((f"data/{i // 100:03}/{i:05}.txt", f"{i}\n".encode()) for i in range(MOST_FILES))


def multipart(archive):
    boundary = "pyrunner-bench-files"
    options = json.dumps({"entry": "main.py", "limits": LIMITS})
    parts = [
        ("options", None, options.encode()),
        ("files", "main.py", COPY_ALL.encode()),
        ("archive", "data.tar.gz", archive),
    ]
    body = io.BytesIO()
    for name, filename, data in parts:
        body.write(f"--{boundary}\r\n".encode())
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body.write(f"Content-Disposition: {disposition}\r\n\r\n".encode())
        body.write(data)
        body.write(b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


def main_pid(unit):
    return subprocess.run(["systemctl", "show", "--value", "-p", "MainPID", unit], check=True,
                          capture_output=True, text=True).stdout.strip()


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")


def peak_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def request(url, token, method, path, body=None, content_type=None, timeout_s=300):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
    headers = {"Content-Type": content_type} if content_type else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def measure(url, token, front, broker, archive):
    body, content_type = multipart(archive)
    for pid in (front, broker):
        reset_peak(pid)
    started = time.perf_counter()
    status, data = request(url, token, "POST", "/run-file/", body, content_type)
    total_ms = (time.perf_counter() - started) * 1000
    run = json.loads(data)
    if status != 200 or run.get("status") != "succeeded":
        raise SystemExit(f"bench/files.py: the run did not succeed ({status}): {data[:500]!r}")
    started = time.perf_counter()
    zip_status, zipped = request(url, token, "GET", f"/runs/{run['id']}/files.zip")
    zip_ms = (time.perf_counter() - started) * 1000
    if zip_status != 200:
        raise SystemExit(f"bench/files.py: files.zip answered {zip_status}")
    request(url, token, "DELETE", f"/runs/{run['id']}")
    return {
        "body_mib": len(body) / MIB,
        "files": len(run["files"]),
        "bytes_mib": sum(f["size"] for f in run["files"]) / MIB,
        "request_ms": total_ms,
        "run_ms": run["duration_ms"],
        "files_ms": total_ms - run["duration_ms"],
        "zip_ms": zip_ms,
        "zip_mib": len(zipped) / MIB,
        "front_peak_mib": peak_mib(front),
        "broker_peak_mib": peak_mib(broker),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--front-unit", required=True)
    parser.add_argument("--broker-unit", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--token", default=os.environ.get("PYRUNNER_TOKEN"),
                        help="sent as 'Authorization: Bearer TOKEN' (default: $PYRUNNER_TOKEN)")
    options = parser.parse_args()
    front, broker = main_pid(options.front_unit), main_pid(options.broker_unit)
    results = {}
    for name, make in (("largest", largest), ("most", most)):
        archive = make()
        samples = [measure(options.url, options.token, front, broker, archive)
                   for _ in range(options.runs)]
        results[name] = {key: (statistics.median(s[key] for s in samples)) for key in samples[0]}
    print(f"{'case':8} {'body MiB':>9} {'files':>6} {'MiB':>7} {'request ms':>11} {'run ms':>8} "
          f"{'files ms':>9} {'zip ms':>8} {'front MiB':>10} {'broker MiB':>11}")
    for name, r in results.items():
        print(f"{name:8} {r['body_mib']:9.1f} {r['files']:6.0f} {r['bytes_mib']:7.1f} "
              f"{r['request_ms']:11.0f} {r['run_ms']:8.0f} {r['files_ms']:9.0f} {r['zip_ms']:8.0f} "
              f"{r['front_peak_mib']:10.1f} {r['broker_peak_mib']:11.1f}")
    print("medians of", options.runs, "runs each")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
