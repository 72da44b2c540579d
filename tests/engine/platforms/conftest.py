from collections.abc import Iterator
from typing import Any

import pytest

from engine.sandbox.client import control_client


@pytest.fixture(scope="module")
def sandbox() -> Iterator[dict[str, Any]]:
    """A real sandbox on loopback, shared by the tests of one module."""
    try:
        from engine.sandbox.app import SandboxConfig
        from engine.sandbox.server import start_in_thread
    except ImportError as exc:  # the sandbox package is written in parallel
        pytest.skip(f"sandbox not available: {exc}")
    with start_in_thread(SandboxConfig(orders=50, seed=1, time_scale=0.02, limits=True)) as sb:
        yield sb.info


def control(info: dict[str, Any], method: str, path: str, **kw: Any) -> Any:
    with control_client(info) as client:
        response = client.request(method, path, **kw)
    response.raise_for_status()
    return response.json() if response.content else None
