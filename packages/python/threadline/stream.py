"""stream_events / astream_events: a thread's events over SSE, resumed with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
import time
from typing import AsyncIterator, Dict, Iterator, List, Optional

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


#: Failures worth a reconnect: the connection or the stream broke (a fatal status is an HTTPStatusError).
_RETRYABLE = (httpx.TransportError, httpx.StreamError)


def _check_status(res: httpx.Response) -> None:
    """Raises unless the gateway answered with the stream: for good on a fatal status (its body read
    first, for the message), else as a transport error, which is retried."""
    if res.status_code in FATAL_STATUSES:
        raise httpx.HTTPStatusError(f"{res.status_code}: {res.text[:200]}", request=res.request, response=res)
    if res.status_code != 200:
        raise httpx.TransportError(f"gateway answered {res.status_code}")


class _Resumption:
    """The rules both twins follow across reconnects, apart from their I/O: the parser (whose last id is
    the resume point), the end condition and the backoff, reset by every event."""

    def __init__(self, run_id: Optional[str], max_retries: int, backoff: float, max_backoff: float) -> None:
        self.parser = _SseParser()
        self.finished = False
        self._run_id = run_id
        self._max_retries = max_retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._failures = 0
        self._delay = backoff

    def feed(self, line: str) -> Optional[Event]:
        """One line off the wire (httpx keeps the line ending in some versions; SSE lines end in \\n)."""
        event = self.parser.feed(line.rstrip("\r\n"))
        if event is not None:
            self._failures, self._delay = 0, self._backoff
            self.finished = _ends(event, self._run_id)
        return event

    def failed(self, url: str) -> float:
        """Counts a failed connection; returns how long to wait before the next one."""
        self._failures += 1
        if self._failures > self._max_retries:
            raise ConnectionError(f"gave up on {url} after {self._max_retries} reconnects")
        delay = self._delay
        self._delay = min(delay * 2, self._max_backoff)
        return delay


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
    resume = _Resumption(run_id, max_retries, backoff, max_backoff)
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0)) as client:
        while True:
            url, headers, params = _request(gateway_url, thread_id, token, after, resume.parser.last_id)
            try:
                with client.stream("GET", url, headers=headers, params=params) as res:
                    if res.status_code in FATAL_STATUSES:
                        res.read()
                    _check_status(res)
                    for line in res.iter_lines():
                        event = resume.feed(line)
                        if event is not None:
                            yield event
                        if resume.finished:
                            return
            except _RETRYABLE:
                pass
            time.sleep(resume.failed(url))


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
    resume = _Resumption(run_id, max_retries, backoff, max_backoff)
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=5.0)) as client:
        while True:
            url, headers, params = _request(gateway_url, thread_id, token, after, resume.parser.last_id)
            try:
                async with client.stream("GET", url, headers=headers, params=params) as res:
                    if res.status_code in FATAL_STATUSES:
                        await res.aread()
                    _check_status(res)
                    async for line in res.aiter_lines():
                        event = resume.feed(line)
                        if event is not None:
                            yield event
                        if resume.finished:
                            return
            except _RETRYABLE:
                pass
            await asyncio.sleep(resume.failed(url))
