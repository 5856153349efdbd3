"""Threadline for Python: publish an agent's events and stream a thread's events.

- :class:`RunPublisher` publishes an external run over HTTP (batching, retries, idempotency keys).
- :class:`RedisRunPublisher` runs Threadline's publish script directly (same Lua file).
- :func:`stream_events` / :func:`astream_events` read a thread, resuming with Last-Event-ID.
"""

from .errors import PublishError, PublishRefused
from .events import Event
from .publisher import ExternalRun, RunPublisher, create_external_run
from .redis_publisher import RedisRunPublisher, publish_script_source
from .stream import astream_events, stream_events

__all__ = [
    "Event",
    "ExternalRun",
    "PublishError",
    "PublishRefused",
    "RedisRunPublisher",
    "RunPublisher",
    "astream_events",
    "create_external_run",
    "publish_script_source",
    "stream_events",
]
