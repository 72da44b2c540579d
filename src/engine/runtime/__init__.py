"""Tasks, the runner that works them, Time History, the scheduler, what a flow records, and the
policies of a bad day."""

from __future__ import annotations

import os


def env_seconds(name: str, default: float) -> float:
    """A duration an operator (or a test) may set in the environment; the default when unset or
    not a number."""
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default
