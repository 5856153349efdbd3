"""RunPublisher (HTTP) and RedisRunPublisher (the publish script) against the real stack."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis
from helpers import Watcher, eventually, log_entries, run_record, seqs

from threadline import PublishError, RedisRunPublisher, RunPublisher, create_external_run, publish_script_source

TOKENS = 500


@contextmanager
def _script_publisher(stack, thread_id, run_id):
    """A RedisRunPublisher on its own client to the stack's Redis, closed afterwards."""
    client = redis.Redis.from_url(stack.redis_url)
    try:
        yield RedisRunPublisher(client, thread_id, run_id)
    finally:
        client.close()


def test_500_token_external_run_over_http_streams_byte_for_byte(stack, thread_id):
    run = create_external_run(stack.api_url, thread_id, stack.token, input={"q": "hi"})
    watcher = Watcher(stack.gateway_url, thread_id, stack.token, run.run_id)
    with RunPublisher(stack.api_url, run, flush_interval=0.01, max_batch=50) as publisher:
        publisher.status("running")
        for i in range(TOKENS):
            publisher.token(f"t{i} ")
        publisher.done("stop", output={"tokens": TOKENS})
    events = watcher.join()
    entries = log_entries(stack.redis_url, thread_id)
    assert [e.data for e in events] == entries
    assert seqs(entries) == list(range(1, TOKENS + 4))
    assert "".join(json.loads(e)["content"] for e in entries if json.loads(e)["type"] == "token") == "".join(
        f"t{i} " for i in range(TOKENS)
    )
    record = run_record(stack.api_url, stack.token, thread_id, run.run_id)
    assert record["status"] == "completed"
    assert record["output"] == {"tokens": TOKENS}


def test_500_token_run_through_the_publish_script_directly(stack, thread_id):
    run = create_external_run(stack.api_url, thread_id, stack.token)
    watcher = Watcher(stack.gateway_url, thread_id, stack.token, run.run_id)
    with _script_publisher(stack, thread_id, run.run_id) as publisher:
        publisher.publish("status", {"state": "running"})
        for i in range(TOKENS):
            publisher.token(f"t{i} ")
        entry_id, seq, duplicate = publisher.done("stop")
        assert (seq, duplicate) == (TOKENS + 3, False)
        # A command re-sent with its key (as after a dropped connection) appends nothing.
        again = publisher.publish("done", {"finishReason": "stop"}, idempotency_key=f"{publisher._prefix}:{TOKENS + 2}")
        assert again == (entry_id, seq, True)
    events = watcher.join()
    entries = log_entries(stack.redis_url, thread_id)
    assert [e.data for e in events] == entries
    assert seqs(entries) == list(range(1, TOKENS + 4))
    # The API's silence check reconciles the record from the script's done marker.
    eventually(
        lambda: run_record(stack.api_url, stack.token, thread_id, run.run_id)["status"],
        lambda status: status == "completed",
        "the run record to follow the direct-Redis producer",
    )


def test_the_direct_publisher_runs_the_one_script_in_packages_redis():
    source = Path(__file__).resolve().parents[2] / "redis" / "src" / "lua" / "publishEvent-3.lua"
    assert publish_script_source() == source.read_text(encoding="utf-8")
    # No hand-kept copy anywhere in the Python package.
    assert not list((Path(__file__).resolve().parents[1] / "threadline").rglob("*.lua"))


def test_a_batch_posted_twice_leaves_one_copy(stack, thread_id):
    run = create_external_run(stack.api_url, thread_id, stack.token)
    batch = [{"type": "token", "content": f"{i}", "idempotencyKey": f"k{i}"} for i in range(100)]
    headers = {"authorization": f"Bearer {run.publish_token}"}
    first = httpx.post(f"{stack.api_url}{run.publish_url}", json=batch, headers=headers)
    second = httpx.post(f"{stack.api_url}{run.publish_url}", json=batch, headers=headers)
    assert first.status_code == second.status_code == 200
    assert [e["id"] for e in second.json()["events"]] == [e["id"] for e in first.json()["events"]]
    assert len(log_entries(stack.redis_url, thread_id)) == 101


def test_the_context_manager_ends_a_run_that_raised_with_error_and_done(stack, thread_id):
    run = create_external_run(stack.api_url, thread_id, stack.token)
    with pytest.raises(RuntimeError):
        with RunPublisher(stack.api_url, run) as publisher:
            publisher.token("partial ")
            raise RuntimeError("model crashed")
    kinds = [(json.loads(e)["type"], json.loads(e)["content"]) for e in log_entries(stack.redis_url, thread_id)]
    assert kinds[-2] == ("error", {"code": "PRODUCER_FAILED", "message": "RuntimeError: model crashed", "retryable": False})
    assert kinds[-1] == ("done", {"finishReason": "error"})
    record = run_record(stack.api_url, stack.token, thread_id, run.run_id)
    assert record["status"] == "failed"
    assert record["error"]["code"] == "PRODUCER_FAILED"


def test_refusals_raise_publish_error_with_the_code(stack, thread_id):
    run = create_external_run(stack.api_url, thread_id, stack.token)
    with RunPublisher(stack.api_url, run) as publisher:
        publisher.done("stop")
    late = RunPublisher(stack.api_url, run, retries=0)
    with pytest.raises(PublishError) as raised:
        late.token("after done")
        late.flush()
    assert raised.value.code == "RUN_ENDED"
    assert raised.value.status == 409
    with pytest.raises(ValueError):
        late.publish("tokens", "bad type")
    late.close()


# A str can hold surrogates: bytes decoded with surrogateescape, or text cut from UTF-16 (a pair as two
# code points). The publish script refuses their JSON escapes, so without the SDK's fix these runs fail.
SURROGATE_TEXTS = [b"bytes \xff ".decode("utf-8", "surrogateescape"), "pair \ud83d\ude00 ", "cut \ud83d"]
SURROGATE_TEXT_DELIVERED = "bytes \ufffd pair 😀 cut \ufffd"


def _assert_surrogates_delivered(stack, thread_id, run_id, events):
    entries = log_entries(stack.redis_url, thread_id)
    assert [e.data for e in events] == entries
    parsed = [json.loads(e) for e in entries]
    assert "".join(e["content"] for e in parsed if e["type"] == "token") == SURROGATE_TEXT_DELIVERED
    call = next(e for e in parsed if e["type"] == "delta")
    assert call["content"]["args"] == {"path": "f\ufffd"}
    assert parsed[-1]["content"] == {"finishReason": "stop", "output": {"text": "end \ufffd"}}
    eventually(
        lambda: run_record(stack.api_url, stack.token, thread_id, run_id)["status"],
        lambda status: status == "completed",
        "the run to complete",
    )


def test_lone_surrogates_arrive_as_u_fffd_over_http_and_the_run_completes(stack, thread_id):
    run = create_external_run(stack.api_url, thread_id, stack.token)
    watcher = Watcher(stack.gateway_url, thread_id, stack.token, run.run_id)
    with RunPublisher(stack.api_url, run, flush_interval=0.01) as publisher:
        for text in SURROGATE_TEXTS:
            publisher.token(text)
        publisher.delta("tool_call", toolCallId="c1", name="read", args={"path": "f\udcff"})
        publisher.done("stop", output={"text": "end \ud800"})
    _assert_surrogates_delivered(stack, thread_id, run.run_id, watcher.join())


def test_lone_surrogates_arrive_as_u_fffd_through_the_publish_script_and_the_run_completes(stack, thread_id):
    run = create_external_run(stack.api_url, thread_id, stack.token)
    watcher = Watcher(stack.gateway_url, thread_id, stack.token, run.run_id)
    with _script_publisher(stack, thread_id, run.run_id) as publisher:
        for text in SURROGATE_TEXTS:
            publisher.token(text)
        publisher.publish("delta", {"kind": "tool_call", "toolCallId": "c1", "name": "read", "args": {"path": "f\udcff"}})
        publisher.done("stop", output={"text": "end \ud800"})
    _assert_surrogates_delivered(stack, thread_id, run.run_id, watcher.join())
