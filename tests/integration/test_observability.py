"""What operators watch: the structured journal entries of runs, GET /metrics, GET /openapi.json."""

import json
import os
import time
from pathlib import Path

import pytest
from api_client import describe
from deployment import BROKER_UNIT
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
# MESSAGE_ID= of each kind of entry (src/daemon/journal.hpp).
ACCEPTED = "7ebb9436da364bf2bd6b2e8b5ab97368"
REFUSED = "4787821ebce0423a925a1e209284bdeb"
STARTED = "c6aa511646d047f7b88931c6dd3506b0"
FINISHED = "0c36b95154694abab660b1ce3b2c4fd8"
BROKER_RUN = "5c5dc928376f48f4b6150fbd65755519"
SLEEPER = "import time\ntime.sleep(60)\n"
# CLIENT= of the tests' requests.
LOOPBACK_CLIENT = "127.0.0.1"


def kernel_at_least(major, minor):
    release = os.uname().release.split(".")
    return (int(release[0]), int(release[1].split("-")[0])) >= (major, minor)


def journal_entries(machine, *matches):
    """The machine's journal entries that carry every FIELD=value of matches, oldest first."""
    # Makes journald write out what it has received, so that entries sent before now are read.
    machine.run("journalctl", "--sync")
    listed = machine.run("journalctl", "--no-pager", "-o", "json", *matches, check=False).stdout
    return [json.loads(line) for line in listed.splitlines() if line.strip()]


def by_message_id(entries):
    kinds = {}
    for entry in entries:
        kinds.setdefault(entry.get("MESSAGE_ID"), []).append(entry)
    return kinds


def test_journal_tells_a_runs_story_by_its_id(server, machine):
    run = server.run("print('journal')")
    assert run["status"] == "succeeded", run
    kinds = by_message_id(journal_entries(machine, f"RUN_ID={run['id']}"))

    front = [kinds.get(kind, []) for kind in (ACCEPTED, STARTED, FINISHED)]
    assert [len(entries) for entries in front] == [1, 1, 1], kinds
    accepted, started, finished = (entries[0] for entries in front)
    assert [accepted["STATUS"], started["STATUS"], finished["STATUS"]] == ["queued", "running", "succeeded"]
    for entry in (accepted, started, finished):
        assert entry["SYSLOG_IDENTIFIER"] == "pyrunnerd", entry
        assert entry["_SYSTEMD_UNIT"] == server.unit + ".service", entry
        assert entry["UNIT"] == run["unit"], entry
        assert entry["CLIENT"] == LOOPBACK_CLIENT, entry
        assert run["id"] in entry["MESSAGE"], entry
    assert finished["EXIT_CODE"] == "0", finished
    assert "ERROR" not in finished and "SIGNAL" not in finished, finished
    assert float(finished["DURATION_MS"]) == run["duration_ms"], finished
    assert finished["PRIORITY"] == "6", finished

    # The broker's side of the same run: asked by the front's bus connection, then the unit's end.
    broker = {entry["STATUS"]: entry for entry in kinds.get(BROKER_RUN, [])}
    assert set(broker) == {"starting", "unit_ended"}, kinds
    assert all(entry["SYSLOG_IDENTIFIER"] == "pyrunner-broker" for entry in broker.values()), broker
    assert broker["starting"]["UNIT"] == run["unit"]
    assert broker["starting"]["CLIENT"].startswith(":"), broker["starting"]
    assert broker["unit_ended"]["UNIT_RESULT"] == "success", broker["unit_ended"]
    # Where the kernel keeps a process's exit status for whoever holds a pidfd on it, the
    # broker may have heard of the end from it; else only from systemd.
    seen_by = {"kernel", "systemd"} if kernel_at_least(6, 15) else {"systemd"}
    assert broker["unit_ended"]["END_SEEN_BY"] in seen_by, broker["unit_ended"]


@pytest.mark.skipif(not kernel_at_least(6, 15), reason="PIDFD_INFO_EXIT needs Linux 6.15")
def test_runs_that_exit_by_themselves_are_answered_from_the_kernel(server, machine):
    # Best effort for each run: the broker finds the interpreter within a few looks after the
    # reaper's exec, and a busy bus thread can miss it (about 3 runs in 100 at three at once).
    # Ten runs in a row all missing it means the kernel's path does not work.
    seen_by = []
    for _ in range(10):
        run = server.run("print('kernel')")
        assert run["status"] == "succeeded", run
        ended = journal_entries(machine, f"RUN_ID={run['id']}", f"MESSAGE_ID={BROKER_RUN}",
                                "STATUS=unit_ended")
        assert len(ended) == 1, ended
        seen_by.append(ended[0]["END_SEEN_BY"])
        if seen_by[-1] == "kernel":
            return
    pytest.fail(f"no run was answered from the kernel: {seen_by}")


def test_journal_gives_the_verdict_of_a_failed_run(server, machine):
    run = server.run("import sys\nsys.exit(3)\n")
    assert run["status"] == "failed", run
    finished = journal_entries(machine, f"RUN_ID={run['id']}", f"MESSAGE_ID={FINISHED}")
    assert len(finished) == 1, finished
    assert finished[0]["STATUS"] == "failed" and finished[0]["EXIT_CODE"] == "3", finished
    assert "exit code 3" in finished[0]["MESSAGE"], finished


def test_journal_tells_a_cancelled_run(server, machine):
    run = server.submit(SLEEPER)
    server.wait_until_running(run["id"])
    cancelled = server.delete(f"/runs/{run['id']}")
    assert cancelled.status_code == 200, describe(cancelled)
    # Cancelled at once, the run is logged once its unit is gone, which fills in its duration.
    deadline = time.monotonic() + 30
    while server.get_run(run["id"])["duration_ms"] is None:
        assert time.monotonic() < deadline, "the cancelled run's unit never ended"
        time.sleep(0.2)
    finished = journal_entries(machine, f"RUN_ID={run['id']}", f"MESSAGE_ID={FINISHED}")
    assert [entry["STATUS"] for entry in finished] == ["cancelled"], finished
    assert finished[0]["UNIT"] == run["unit"], finished


def test_journal_tells_a_submission_refused_for_a_full_queue(server_factory, machine):
    server = server_factory(max_running=1, max_queued=0)
    server.submit(SLEEPER)
    refused = server.post("/run-json/", json={"code": "print(1)"})
    assert refused.status_code == 429, describe(refused)
    entries = journal_entries(machine, f"_SYSTEMD_UNIT={server.unit}.service", f"MESSAGE_ID={REFUSED}")
    assert [(entry["STATUS"], entry["REASON"]) for entry in entries] == [("refused", "queue_full")], entries
    assert entries[0]["CLIENT"] == LOOPBACK_CLIENT, entries


def wait_for_health(server, status_code):
    """Polls /healthz until it answers status_code: the broker's coming and going reaches the
    front as a bus signal, which the test cannot await otherwise."""
    deadline = time.monotonic() + 10
    while server.get("/healthz").status_code != status_code:
        assert time.monotonic() < deadline, f"/healthz never answered {status_code}"
        time.sleep(0.2)


def test_broker_away_is_journalled_and_counted(server_factory, machine, broker_starter):
    server = server_factory()
    machine.run("systemctl", "stop", BROKER_UNIT, check=False)
    try:
        wait_for_health(server, 503)
        refused = server.post("/run-json/", json={"code": "print(1)"})
        assert refused.status_code == 503, describe(refused)
    finally:
        broker_starter()
    entries = journal_entries(machine, f"_SYSTEMD_UNIT={server.unit}.service", f"MESSAGE_ID={REFUSED}")
    assert [(entry["REASON"], entry["PRIORITY"]) for entry in entries] == [("unavailable", "4")], entries
    wait_for_health(server, 200)
    samples = scrape(server)
    assert samples[("pyrunner_broker_reconnects_total", ())] == 1, samples
    assert samples[("pyrunner_runs_refused_total", (("reason", "unavailable"),))] == 1, samples
    assert samples[("pyrunner_systemd_up", ())] == 1, samples


def scrape(server):
    """GET /metrics parsed as Prometheus parses it: {(sample name, sorted labels): value}."""
    response = server.get("/metrics")
    assert response.status_code == 200, describe(response)
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4"), response.headers
    samples = {}
    for family in text_string_to_metric_families(response.text):
        assert family.documentation, family
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_count_runs_by_status_and_their_latency(server_factory):
    server = server_factory(max_running=2, max_queued=4)
    for _ in range(3):
        assert server.run("print('counted')")["status"] == "succeeded"
    assert server.run("raise SystemExit(2)")["status"] == "failed"
    assert server.get("/nowhere").status_code == 404

    samples = scrape(server)
    finished = {labels[0][1]: value for (name, labels), value in samples.items()
                if name == "pyrunner_runs_finished_total"}
    assert finished == {"succeeded": 3, "failed": 1, "timed_out": 0, "out_of_memory": 0,
                        "output_limit_exceeded": 0, "cancelled": 0, "error": 0}, samples
    assert samples[("pyrunner_runs_accepted_total", ())] == 4
    assert samples[("pyrunner_run_latency_seconds_count", ())] == 4
    assert samples[("pyrunner_run_latency_seconds_bucket", (("le", "+Inf"),))] == 4
    assert samples[("pyrunner_run_latency_seconds_sum", ())] > 0
    buckets = sorted((float(labels[0][1]), value) for (name, labels), value in samples.items()
                     if name == "pyrunner_run_latency_seconds_bucket")
    assert buckets[0][0] == 0.01 and buckets[-2][0] == 300, buckets
    assert [value for _, value in buckets] == sorted(value for _, value in buckets), buckets
    assert samples[("pyrunner_runs_running", ())] == 0
    assert samples[("pyrunner_runs_queued", ())] == 0
    assert samples[("pyrunner_runs_running_max", ())] == 2
    assert samples[("pyrunner_runs_queued_max", ())] == 4
    assert samples[("pyrunner_http_responses_total", (("code", "4xx"),))] == 1
    # The four runs and the harness's /healthz at start-up, at least.
    assert samples[("pyrunner_http_responses_total", (("code", "2xx"),))] >= 5


def test_metrics_show_running_and_queued_runs(server_factory):
    server = server_factory(max_running=1, max_queued=2)
    running = server.submit(SLEEPER)
    queued = server.submit(SLEEPER)
    samples = scrape(server)
    assert samples[("pyrunner_runs_running", ())] == 1, samples
    assert samples[("pyrunner_runs_queued", ())] == 1, samples
    for run in (queued, running):
        assert server.delete(f"/runs/{run['id']}").status_code == 200
    samples = scrape(server)
    assert samples[("pyrunner_runs_queued", ())] == 0, samples
    assert samples[("pyrunner_runs_finished_total", (("status", "cancelled"),))] >= 1, samples


def test_metrics_show_the_warm_pool(server_factory):
    server = server_factory(extra_args=("--warm-pool", "2"))
    samples = scrape(server)
    default = (("environment", "default"),)
    idle = samples[("pyrunner_warm_units", default + (("state", "ready"),))] + samples[
        ("pyrunner_warm_units", default + (("state", "starting"),))]
    assert idle == 2, samples


def test_openapi_document_is_served_as_it_is_in_docs(server):
    response = server.get("/openapi.json")
    assert response.status_code == 200, describe(response)
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    assert response.content == (REPO / "docs" / "openapi.json").read_bytes()
    document = response.json()
    assert document["openapi"].startswith("3.0."), document["openapi"]
    for path in ("/run-json/", "/run-file/", "/runs/{id}", "/runs/{id}/stdout", "/runs/{id}/files/{path}",
                 "/runs/{id}/files.zip", "/healthz", "/metrics"):
        assert path in document["paths"], sorted(document["paths"])


def unit_property(machine, unit, name):
    return machine.run("systemctl", "show", "--value", "-p", name, unit).stdout.strip()


def wait_for_unit_property(machine, unit, name, accept, timeout_s=15):
    """Polls the unit's property until accept(value): systemd offers no way to await it."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = unit_property(machine, unit, name)
        if accept(value):
            return value
        assert time.monotonic() < deadline, f"{unit} {name} stayed {value!r}"
        time.sleep(0.2)


def test_status_line_tells_running_and_queued_runs(server_factory, machine):
    server = server_factory(max_running=1, max_queued=2)
    unit = server.unit + ".service"
    port = server.options["port"]
    assert unit_property(machine, unit, "StatusText") == f"Serving on 127.0.0.1:{port}: 0 running, 0 queued"
    runs = [server.submit(SLEEPER) for _ in range(2)]
    wait_for_unit_property(machine, unit, "StatusText", lambda text: text.endswith(": 1 running, 1 queued"))
    for run in reversed(runs):
        assert server.delete(f"/runs/{run['id']}").status_code == 200
    wait_for_unit_property(machine, unit, "StatusText", lambda text: text.endswith(": 0 running, 0 queued"))


def test_watchdog_is_pinged_while_the_server_answers(server_factory, machine):
    server = server_factory(properties=("WatchdogSec=3",))
    unit = server.unit + ".service"
    assert unit_property(machine, unit, "WatchdogUSec") == "3s"
    first = wait_for_unit_property(machine, unit, "WatchdogTimestampMonotonic", lambda value: value not in ("", "0"))
    # Each ping moves the timestamp on; a server that never pinged would be killed by now.
    wait_for_unit_property(machine, unit, "WatchdogTimestampMonotonic", lambda value: value != first)
    assert unit_property(machine, unit, "ActiveState") == "active"
    assert server.get("/healthz").status_code == 200
