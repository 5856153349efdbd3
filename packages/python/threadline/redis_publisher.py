"""RedisRunPublisher: publish straight into Redis through Threadline's own publish script."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Optional, Tuple

from .errors import PublishRefused
from .events import check_event, well_formed

SCRIPT_FILE = "publishEvent-3.lua"
_REFUSALS = ("INVALID_EVENT", "STALE_ATTEMPT", "RUN_ENDED")


def publish_script_source() -> str:
    """The publish script: THE file in packages/redis (one source of truth).

    ``THREADLINE_PUBLISH_SCRIPT`` may point at it when this package is used outside the repository.
    """
    configured = os.environ.get("THREADLINE_PUBLISH_SCRIPT")
    path = Path(configured) if configured else Path(__file__).resolve().parents[2] / "redis" / "src" / "lua" / SCRIPT_FILE
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"Threadline's publish script is not at {path}; set THREADLINE_PUBLISH_SCRIPT to packages/redis/src/lua/{SCRIPT_FILE}"
        ) from error


class RedisRunPublisher:
    """Publishes a run's events with the same atomic script our worker uses (EVALSHA).

    ``client`` is a ``redis.Redis`` (or ``redis.RedisCluster`` with ``cluster=True``: SPUBLISH). Every
    event gets an idempotency key (``<prefix>:<n>``) so a command retried after a dropped connection
    is appended once. Nothing here updates the run record: the API's silence check reconciles it from
    what the script recorded (the run's ``done``).
    """

    def __init__(
        self,
        client: Any,
        thread_id: str,
        run_id: str,
        *,
        log_max_len: int = 10_000,
        log_ttl_seconds: int = 86_400,
        cluster: bool = False,
        key_prefix: Optional[str] = None,
    ) -> None:
        self._client = client
        self.thread_id = thread_id
        self.run_id = run_id
        self._script = client.register_script(publish_script_source())
        self._keys = [
            f"{{thread:{thread_id}}}:log",
            f"{{thread:{thread_id}}}:meta",
            f"{{thread:{thread_id}}}:pub:{run_id}",
        ]
        self._channel = f"thread:{thread_id}"
        self._max_len = log_max_len
        self._ttl = log_ttl_seconds
        self._command = "SPUBLISH" if cluster else "PUBLISH"
        self._prefix = key_prefix or f"py-{os.getpid()}-{int(time.time() * 1000)}"
        self._count = 0

    def publish(self, event_type: str, content: Any, *, idempotency_key: Optional[str] = None) -> Tuple[str, int, bool]:
        """Appends one event; returns ``(id, seq, duplicate)``. Raises PublishRefused when refused."""
        check_event(event_type, content)
        self._count += 1
        key = idempotency_key or f"{self._prefix}:{self._count}"
        payload = json.dumps(
            {
                "type": event_type,
                "threadId": self.thread_id,
                "runId": self.run_id,
                "ts": int(time.time() * 1000),
                "content": well_formed(content),
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )
        import redis  # optional dependency: only this publisher needs it

        try:
            entry_id, seq, repeat = self._script(
                keys=self._keys,
                args=[self._channel, payload, self._max_len, self._ttl, self._command, key, ""],
            )
        except redis.exceptions.ResponseError as error:
            text = str(error)
            code = text.split(" ", 1)[0]
            if code in _REFUSALS:
                raise PublishRefused(code, text.split(" ", 1)[1] if " " in text else text) from error
            raise
        entry = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        return entry, int(seq), int(repeat) == 1

    def token(self, text: str) -> Tuple[str, int, bool]:
        return self.publish("token", text)

    def done(self, finish_reason: str = "stop", *, output: Any = None) -> Tuple[str, int, bool]:
        content = {"finishReason": finish_reason}
        if output is not None:
            content["output"] = output
        return self.publish("done", content)
