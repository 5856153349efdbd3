"""stream_events / astream_events against the real gateway."""

from __future__ import annotations

import asyncio

import httpx
import pytest

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


def test_a_refused_token_ends_both_twins_at_once_with_the_status(stack, thread_id):
    # A fatal status is not retried: max_retries=0 would otherwise end in ConnectionError instead.
    with pytest.raises(httpx.HTTPStatusError, match="^401: "):
        next(stream_events(stack.gateway_url, thread_id, "not-a-token", after="0", max_retries=0))

    async def read():
        async for _ in astream_events(stack.gateway_url, thread_id, "not-a-token", after="0", max_retries=0):
            pass

    with pytest.raises(httpx.HTTPStatusError, match="^401: "):
        asyncio.run(read())


def test_both_twins_give_up_after_max_retries_when_the_gateway_is_unreachable(thread_id):
    unreachable = "http://127.0.0.1:9"  # discard port: nothing listens, every connect is refused
    with pytest.raises(ConnectionError, match="after 2 reconnects"):
        next(stream_events(unreachable, thread_id, "t", max_retries=2, backoff=0.01))

    async def read():
        async for _ in astream_events(unreachable, thread_id, "t", max_retries=2, backoff=0.01):
            pass

    with pytest.raises(ConnectionError, match="after 2 reconnects"):
        asyncio.run(read())
