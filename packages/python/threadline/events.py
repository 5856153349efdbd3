"""Event helpers shared by the publishers and the stream reader."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional

EVENT_TYPES = ("token", "status", "delta", "done", "error")
FINISH_REASONS = ("stop", "cancelled", "length", "error")
RUN_STATES = ("queued", "running", "retrying", "cancelling", "cancelled", "completed", "failed")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Event:
    """One event of a thread as a stream delivered it."""

    #: The replay-log id (``<ms>-<n>``), or ``None`` for events that are not in the log.
    id: Optional[str]
    #: ``token``, ``status``, ``delta``, ``done`` or ``error``.
    type: str
    #: The exact JSON text received (byte-identical to the replay log's entry).
    data: str

    @property
    def json(self) -> Dict[str, Any]:
        value: Dict[str, Any] = json.loads(self.data)
        return value

    @property
    def run_id(self) -> Optional[str]:
        run_id = self.json.get("runId")
        return run_id if isinstance(run_id, str) else None


def check_event(event_type: str, content: Any) -> None:
    """The protocol's essentials, checked before anything is sent (the server checks them too)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"type must be one of {', '.join(EVENT_TYPES)}, got {event_type!r}")
    if event_type == "token":
        if not isinstance(content, str):
            raise ValueError("a token's content is a string")
        return
    if not isinstance(content, dict):
        raise ValueError(f"a {event_type} event's content is an object")
    if event_type == "status" and content.get("state") not in RUN_STATES:
        raise ValueError(f"content.state must be one of {', '.join(RUN_STATES)}")
    if event_type == "delta" and not (isinstance(content.get("kind"), str) and content["kind"]):
        raise ValueError("content.kind is required")
    if event_type == "done" and content.get("finishReason") not in FINISH_REASONS:
        raise ValueError(f"content.finishReason must be one of {', '.join(FINISH_REASONS)}")
    if event_type == "error":
        if not (isinstance(content.get("code"), str) and content["code"]):
            raise ValueError("content.code is required")
        if not isinstance(content.get("message"), str):
            raise ValueError("content.message is required")
        if not isinstance(content.get("retryable"), bool):
            raise ValueError("content.retryable must be a boolean")


def well_formed(value: Any) -> Any:
    """The value with every lone surrogate in its strings (keys too, at any depth) replaced by U+FFFD.

    A ``str`` can hold surrogates (``surrogateescape`` decoding, text cut from UTF-16): JSON writes a
    lone one as a ``\\udXXX`` escape, which the publish script's Lua cjson refuses (the event would be
    refused and the run fail), and UTF-8 cannot encode one at all. As JavaScript's ``toWellFormed``:
    a high surrogate followed by a low one is the character they make together, the rest become
    U+FFFD. Returns the value itself when there is nothing to fix.
    """
    if isinstance(value, str):
        if _SURROGATE.search(value) is None:
            return value
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if isinstance(value, dict):
        return {well_formed(k): well_formed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [well_formed(item) for item in value]
    return value
