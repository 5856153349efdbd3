"""The real stack's addresses, handed over by tests/python/python-sdk.test.ts (which starts it)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Stack:
    api_url: str
    gateway_url: str
    redis_url: str
    token: str
    admin_token: str


@pytest.fixture(scope="session")
def stack() -> Stack:
    missing = [n for n in ("THREADLINE_API_URL", "THREADLINE_GATEWAY_URL", "REDIS_URL", "THREADLINE_TOKEN") if n not in os.environ]
    if missing:
        pytest.fail(f"run through `pnpm vitest run --project e2e tests/python` (it starts the stack); missing {missing}")
    return Stack(
        api_url=os.environ["THREADLINE_API_URL"],
        gateway_url=os.environ["THREADLINE_GATEWAY_URL"],
        redis_url=os.environ["REDIS_URL"],
        token=os.environ["THREADLINE_TOKEN"],
        admin_token=os.environ["THREADLINE_ADMIN_TOKEN"],
    )


@pytest.fixture()
def thread_id() -> str:
    return f"py-{uuid.uuid4().hex[:12]}"
