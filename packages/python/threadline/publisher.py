"""RunPublisher: an external run's events over HTTP, batched, retried, exactly once."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Dict, List, Optional, Type

import httpx

from .errors import PublishError
from .events import check_event, well_formed

#: Statuses worth retrying: the request may not have been applied (or the API is busy).
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
MAX_BATCH = 1000


@dataclass(frozen=True)
class ExternalRun:
    """What ``POST /v1/threads/:threadId/runs`` with ``runner: "external"`` answered."""

    thread_id: str
    run_id: str
    publish_url: str
    publish_token: str
    events_url: str


def create_external_run(
    api_url: str,
    thread_id: str,
    token: str,
    *,
    input: Optional[Dict[str, Any]] = None,
    metadata: Optional[Dict[str, Any]] = None,
    client: Optional[httpx.Client] = None,
) -> ExternalRun:
    """Creates an external run with a user token; the answer carries the run's publish token."""
    body: Dict[str, Any] = {"runner": "external"}
    if input is not None:
        body["input"] = input
    if metadata is not None:
        body["metadata"] = metadata
    http = client or httpx.Client(timeout=10.0)
    try:
        res = http.post(
            f"{api_url.rstrip('/')}/v1/threads/{thread_id}/runs",
            json=body,
            headers={"authorization": f"Bearer {token}"},
        )
    finally:
        if client is None:
            http.close()
    if res.status_code != 202:
        raise _error_of(res)
    data = res.json()
    return ExternalRun(
        thread_id=data["threadId"],
        run_id=data["runId"],
        publish_url=data["publishUrl"],
        publish_token=data["publishToken"],
        events_url=data["eventsUrl"],
    )


class RunPublisher:
    """Publishes one external run's events over HTTP.

    Events are buffered and sent in batches (``max_batch`` events, or whatever arrived within
    ``flush_interval`` seconds). Every event carries an idempotency key (``<prefix>:<n>``), so a batch
    retried after a timeout, a 5xx or a dropped connection is appended once. As a context manager it
    ends the run on exit: ``done`` (finishReason ``stop``) when the block completes and no ``done`` was
    published, else ``error`` + ``done`` (finishReason ``error``) when the block raised.
    """

    def __init__(
        self,
        api_url: str,
        run: ExternalRun,
        *,
        flush_interval: float = 0.05,
        max_batch: int = 100,
        retries: int = 6,
        backoff: float = 0.2,
        max_backoff: float = 5.0,
        timeout: float = 10.0,
        client: Optional[httpx.Client] = None,
    ) -> None:
        if not 1 <= max_batch <= MAX_BATCH:
            raise ValueError(f"max_batch must be 1..{MAX_BATCH}")
        self.run = run
        self._url = f"{api_url.rstrip('/')}{run.publish_url}"
        self._headers = {"authorization": f"Bearer {run.publish_token}"}
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._retries = retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._client = client or httpx.Client(timeout=timeout)
        self._owns_client = client is None
        self._key_prefix = uuid.uuid4().hex[:12]
        self._count = 0
        self._buffer: List[Dict[str, Any]] = []
        self._results: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._failure: Optional[BaseException] = None
        self.done_published = False
        self._flusher = threading.Thread(target=self._flush_loop, name="threadline-flush", daemon=True)
        self._flusher.start()

    # Events -----------------------------------------------------------------------------------

    def publish(self, event_type: str, content: Any, *, idempotency_key: Optional[str] = None) -> None:
        """Buffers one event; it is sent within ``flush_interval`` (or at once when a batch is full)."""
        check_event(event_type, content)
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise PublishError("PUBLISHER_CLOSED", "this publisher is closed")
        with self._lock:
            self._count += 1
            key = idempotency_key or f"{self._key_prefix}:{self._count}"
            self._buffer.append({"type": event_type, "content": well_formed(content), "idempotencyKey": key})
            full = len(self._buffer) >= self._max_batch
        if event_type == "done":
            self.done_published = True
        if full or event_type == "done":
            self.flush()
        else:
            self._wake.set()

    def token(self, text: str) -> None:
        self.publish("token", text)

    def status(self, state: str, **fields: Any) -> None:
        self.publish("status", {"state": state, **fields})

    def delta(self, kind: str, **fields: Any) -> None:
        self.publish("delta", {"kind": kind, **fields})

    def heartbeat(self) -> None:
        """Keeps a quiet run from being failed as lost (any event does; this one says nothing new)."""
        self.publish("delta", {"kind": "progress", "heartbeat": True})

    def error(self, code: str, message: str, *, retryable: bool = False) -> None:
        self.publish("error", {"code": code, "message": message, "retryable": retryable})

    def done(self, finish_reason: str = "stop", *, output: Any = None, usage: Optional[Dict[str, int]] = None) -> None:
        content: Dict[str, Any] = {"finishReason": finish_reason}
        if output is not None:
            content["output"] = output
        if usage is not None:
            content["usage"] = usage
        self.publish("done", content)

    # Sending ----------------------------------------------------------------------------------

    def flush(self) -> List[Dict[str, Any]]:
        """Sends everything buffered, in order; returns every answer so far (``{id, seq}``)."""
        with self._send_lock:
            while True:
                with self._lock:
                    batch, self._buffer = self._buffer[: self._max_batch], self._buffer[self._max_batch :]
                if not batch:
                    break
                try:
                    self._results.extend(self._send(batch))
                except BaseException as error:
                    self._failure = error
                    raise
        if self._failure is not None:
            raise self._failure
        return list(self._results)

    def _send(self, batch: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        delay = self._backoff
        for attempt in range(self._retries + 1):
            try:
                res = self._client.post(self._url, json=batch, headers=self._headers)
            except httpx.TransportError as error:
                if attempt == self._retries:
                    raise PublishError("UNREACHABLE", f"could not reach {self._url}: {error}") from error
            else:
                if res.status_code == 200:
                    events: List[Dict[str, Any]] = res.json()["events"]
                    return events
                if res.status_code not in RETRY_STATUSES or attempt == self._retries:
                    raise _error_of(res)
            # The same batch with the same keys: whatever the API already appended is not repeated.
            time.sleep(delay)
            delay = min(delay * 2, self._max_backoff)
        raise AssertionError("unreachable")

    def _flush_loop(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            time.sleep(self._flush_interval)
            try:
                self.flush()
            except BaseException:
                return  # kept in self._failure: the next publish() or flush() raises it

    # Lifecycle --------------------------------------------------------------------------------

    def close(self) -> None:
        """Sends what is buffered and stops the background flusher."""
        if self._closed:
            return
        try:
            if self._failure is None:
                self.flush()
        finally:
            self._closed = True
            self._wake.set()
            if self._owns_client:
                self._client.close()

    def __enter__(self) -> "RunPublisher":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        try:
            if self._failure is None and not self.done_published:
                if exc is None:
                    self.done("stop")
                else:
                    self.error("PRODUCER_FAILED", f"{exc_type.__name__ if exc_type else 'error'}: {exc}")
                    self.done("error")
        finally:
            self.close()


def _error_of(res: httpx.Response) -> PublishError:
    try:
        body = res.json()["error"]
        return PublishError(body["code"], body["message"], res.status_code, body.get("details"))
    except Exception:
        return PublishError("HTTP_ERROR", f"{res.status_code}: {res.text[:200]}", res.status_code)
