"""stream_events / astream_events against the real gateway."""

from __future__ import annotations

import asyncio

from helpers import log_entries

from threadline import RunPublisher, astream_events, create_external_run, stream_events


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
