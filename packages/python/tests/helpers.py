"""Reading back what Threadline stored, for assertions."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, Dict, List

import httpx
import redis

from threadline import Event, stream_events


def log_entries(redis_url: str, thread_id: str) -> List[str]:
    """The replay log as the gateway serves it: each entry's JSON with its id spliced in first."""
    client = redis.Redis.from_url(redis_url)
    try:
        rows = client.xrange(f"{{thread:{thread_id}}}:log")
    finally:
        client.close()
    return ['{"id":"' + entry_id.decode() + '",' + fields[b"e"].decode()[1:] for entry_id, fields in rows]


def run_record(api_url: str, token: str, thread_id: str, run_id: str) -> Dict[str, Any]:
    res = httpx.get(f"{api_url}/v1/threads/{thread_id}/runs/{run_id}", headers={"authorization": f"Bearer {token}"})
    res.raise_for_status()
    record: Dict[str, Any] = res.json()
    return record


def eventually(read: Callable[[], Any], ok: Callable[[Any], bool], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value!r}")
        time.sleep(0.05)


class Watcher:
    """stream_events in a thread, from the start of the log until the run's done."""

    def __init__(self, gateway_url: str, thread_id: str, token: str, run_id: str) -> None:
        self.events: List[Event] = []
        self.error: List[BaseException] = []

        def read() -> None:
            try:
                for event in stream_events(gateway_url, thread_id, token, after="0", run_id=run_id):
                    self.events.append(event)
            except BaseException as error:  # surfaced by join()
                self.error.append(error)

        self._thread = threading.Thread(target=read, daemon=True)
        self._thread.start()

    def join(self, timeout: float = 30.0) -> List[Event]:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the stream did not end at done; got {len(self.events)} events")
        if self.error:
            raise self.error[0]
        return self.events


def seqs(entries: List[str]) -> List[int]:
    return [json.loads(e)["seq"] for e in entries]
