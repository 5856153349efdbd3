"""Errors the SDK raises."""

from __future__ import annotations

from typing import Any, Optional


class PublishError(Exception):
    """Threadline refused a publish (a 4xx) or stayed unreachable after every retry.

    ``code`` is the error code of Threadline's error catalog (``RUN_ENDED``, ``INVALID_BODY``, …),
    ``status`` the HTTP status (``None`` when the API could not be reached).
    """

    def __init__(self, code: str, message: str, status: Optional[int] = None, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details


class PublishRefused(PublishError):
    """The publish script refused an event: ``INVALID_EVENT``, ``STALE_ATTEMPT`` or ``RUN_ENDED``."""
