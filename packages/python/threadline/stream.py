"""stream_events / astream_events: a thread's events over SSE, resumed with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
import time
from typing import AsyncIterator, Dict, Iterable, Iterator, List, Optional

import httpx

from .events import Event

#: Stream errors that end the stream: retrying with the same token cannot help.
FATAL_STATUSES = {400, 401, 403, 404}


class _SseParser:
    """The SSE wire format (text/event-stream), fed line by line."""

    def __init__(self) -> None:
        self.last_id: Optional[str] = None
        self._id: Optional[str] = None
        self._event = "message"
        self._data: List[str] = []

    def feed(self, line: str) -> Optional[Event]:
        if line == "":
            if not self._data:
                # An id with no data moves the resume position without an event (a live-only stream
                # starts with one: where it joined), as it does EventSource's lastEventId.
                if self._id:
                    self.last_id = self._id
                self._id = None
                self._event = "message"
                return None
            data = "\n".join(self._data)
            event_id = self._id
            self._data, self._id = [], None
            name, self._event = self._event, "message"
            if event_id:
                self.last_id = event_id
            try:
                event_type = str(json.loads(data).get("type", name))
            except (ValueError, AttributeError):
                event_type = name
            return Event(id=event_id, type=event_type, data=data)
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "id":
            self._id = value
        elif field == "event":
            self._event = value
        return None


def _request(gateway_url: str, thread_id: str, token: str, after: Optional[str], last_id: Optional[str]):
    headers: Dict[str, str] = {"accept": "text/event-stream", "authorization": f"Bearer {token}"}
    params: Dict[str, str] = {}
    if last_id is not None:
        headers["last-event-id"] = last_id
    elif after is not None:
        params["after"] = after
    return f"{gateway_url.rstrip('/')}/v1/threads/{thread_id}/events", headers, params


def _ends(event: Event, run_id: Optional[str]) -> bool:
    return event.type == "done" and (run_id is None or event.run_id == run_id)


def stream_events(
    gateway_url: str,
    thread_id: str,
    token: str,
    *,
    after: Optional[str] = None,
    run_id: Optional[str] = None,
    max_retries: int = 20,
    backoff: float = 0.2,
    max_backoff: float = 5.0,
    timeout: float = 60.0,
) -> Iterator[Event]:
    """Yields a thread's events until a ``done`` (of ``run_id`` when given).

    ``after``: ``"0"`` for everything retained, an event id to resume after it, ``None`` for live only.
    On any disconnect (gateway restarted, network cut) it reconnects with ``Last-Event-ID`` set to the
    last event it yielded, so nothing is lost or repeated; ``max_retries`` bounds consecutive failures.
    """
    parser = _SseParser()
    failures = 0
    delay = backoff
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0)) as client:
        while True:
            url, headers, params = _request(gateway_url, thread_id, token, after, parser.last_id)
            try:
                with client.stream("GET", url, headers=headers, params=params) as res:
                    if res.status_code in FATAL_STATUSES:
                        res.read()
                        raise httpx.HTTPStatusError(f"{res.status_code}: {res.text[:200]}", request=res.request, response=res)
                    if res.status_code != 200:
                        raise httpx.TransportError(f"gateway answered {res.status_code}")
                    for line in _lines(res.iter_lines()):
                        event = parser.feed(line)
                        if event is None:
                            continue
                        failures, delay = 0, backoff
                        yield event
                        if _ends(event, run_id):
                            return
            except httpx.HTTPStatusError:
                raise
            except (httpx.TransportError, httpx.StreamError):
                pass
            failures += 1
            if failures > max_retries:
                raise ConnectionError(f"gave up on {url} after {max_retries} reconnects")
            time.sleep(delay)
            delay = min(delay * 2, max_backoff)


async def astream_events(
    gateway_url: str,
    thread_id: str,
    token: str,
    *,
    after: Optional[str] = None,
    run_id: Optional[str] = None,
    max_retries: int = 20,
    backoff: float = 0.2,
    max_backoff: float = 5.0,
    timeout: float = 60.0,
) -> AsyncIterator[Event]:
    """The asyncio twin of :func:`stream_events` (same resume rules)."""
    parser = _SseParser()
    failures = 0
    delay = backoff
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=5.0)) as client:
        while True:
            url, headers, params = _request(gateway_url, thread_id, token, after, parser.last_id)
            try:
                async with client.stream("GET", url, headers=headers, params=params) as res:
                    if res.status_code in FATAL_STATUSES:
                        await res.aread()
                        raise httpx.HTTPStatusError(f"{res.status_code}: {res.text[:200]}", request=res.request, response=res)
                    if res.status_code != 200:
                        raise httpx.TransportError(f"gateway answered {res.status_code}")
                    async for line in res.aiter_lines():
                        for part in _lines([line]):
                            event = parser.feed(part)
                            if event is None:
                                continue
                            failures, delay = 0, backoff
                            yield event
                            if _ends(event, run_id):
                                return
            except httpx.HTTPStatusError:
                raise
            except (httpx.TransportError, httpx.StreamError):
                pass
            failures += 1
            if failures > max_retries:
                raise ConnectionError(f"gave up on {url} after {max_retries} reconnects")
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_backoff)


def _lines(raw: Iterable[str]) -> Iterator[str]:
    """httpx's iter_lines keeps the line ending in some versions: strip it (SSE lines end in \\n)."""
    for line in raw:
        yield line.rstrip("\r\n")
