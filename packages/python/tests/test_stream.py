"""stream_events / astream_events against the real gateway."""

from __future__ import annotations

import asyncio

from helpers import log_entries

from threadline import RunPublisher, astream_events, create_external_run, stream_events
from threadline.stream import _SseParser


def test_async_stream_reads_a_finished_run_from_the_start_and_ends_at_done(stack, thread_id):
    run = create_external_run(stack.api_url, thread_id, stack.token)
    with RunPublisher(stack.api_url, run) as publisher:
        for word in ("one ", "two ", "three"):
            publisher.token(word)

    async def read():
        return [e async for e in astream_events(stack.gateway_url, thread_id, stack.token, after="0", run_id=run.run_id)]

    events = asyncio.run(read())
    assert [e.data for e in events] == log_entries(stack.redis_url, thread_id)
    assert events[-1].type == "done"


def test_resume_after_an_id_yields_only_what_follows(stack, thread_id):
    run = create_external_run(stack.api_url, thread_id, stack.token)
    with RunPublisher(stack.api_url, run) as publisher:
        for i in range(10):
            publisher.token(str(i))
    entries = log_entries(stack.redis_url, thread_id)
    middle = entries[4]
    after = middle.split('"id":"', 1)[1].split('"', 1)[0]
    events = list(stream_events(stack.gateway_url, thread_id, stack.token, after=after, run_id=run.run_id))
    assert [e.data for e in events] == entries[5:]


def test_an_id_only_frame_moves_the_resume_position_without_an_event():
    parser = _SseParser()
    lines = ["retry: 1000", "", "id: 1700000000000-4", "", ": keepalive", ""]
    assert [parser.feed(line) for line in lines] == [None] * len(lines)
    assert parser.last_id == "1700000000000-4"
    event = [parser.feed(line) for line in ["event: token", 'data: {"type":"token"}', ""]][-1]
    assert event is not None and event.id is None and event.type == "token"
    assert parser.last_id == "1700000000000-4"
