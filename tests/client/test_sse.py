"""The event-stream format, and the run events made from it."""

import json

from pyrunner_client.sse import RawEvent, SseParser, run_event


def feed(parser, text):
    events = []
    for line in text.split("\n"):
        event = parser.feed_line(line)
        if event is not None:
            events.append(event)
    return events


def test_events_are_dispatched_by_blank_lines_with_their_type_id_and_data():
    parser = SseParser()
    events = feed(parser, "id: 1\nevent: stdout\ndata: {\"a\":\ndata: 1}\n\n: ping\n\nevent: end\ndata: x\n\n")

    assert events == [RawEvent("stdout", '{"a":\n1}', "1"), RawEvent("end", "x", "1")]
    assert parser.last_id == "1"


def test_an_event_without_data_is_not_dispatched_but_its_id_counts():
    parser = SseParser()
    assert feed(parser, "id: 7\nevent: status\n\n") == []
    assert parser.last_id == "7"


def test_retry_and_field_values_without_a_space_are_read():
    parser = SseParser()
    events = feed(parser, "retry:2500\nevent:stderr\ndata:x\n\n")
    assert parser.retry_ms == 2500
    assert events == [RawEvent("stderr", "x", None)]


def test_run_events_carry_runs_and_output():
    run = {"id": "r1", "status": "running", "cpu_time_ms": 12.5, "memory_peak_bytes": 1024}
    status = run_event(RawEvent("status", json.dumps(run), "2-0-0"))
    output = run_event(RawEvent("stdout", json.dumps({"offset": 6, "data": "é\n"}), "2-6-0"))

    assert status is not None and status.run is not None
    assert (status.type, status.run.status, status.run.cpu_time_ms, status.run.memory_peak_bytes) == (
        "status", "running", 12.5, 1024)
    assert output is not None and (output.type, output.offset, output.data, output.id) == ("stdout", 6, "é\n", "2-6-0")


def test_unknown_types_and_bad_data_are_skipped():
    assert run_event(RawEvent("message", "{}", None)) is None
    assert run_event(RawEvent("stdout", "not json", None)) is None
    assert run_event(RawEvent("stdout", '{"offset": 0}', None)) is None
