"""What every flow gets to work with, and what it answers per record."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engine.mapping.settings import IntegrationSettings
from engine.runtime.outage import Streak
from engine.runtime.records import Recorder


class Outcome(StrEnum):
    SYNCED = "synced"
    FAILED = "failed"
    SKIPPED = "skipped"  # filtered, excluded, unchanged or held by another worker


@dataclass
class FlowContext:
    recorder: Recorder
    source: Any
    target: Any
    settings: IntegrationSettings
    filters: list[Any]
    force: bool = False  # Export One / Retry: push even when the source did not change
    # Orders of one customer must not race to create that customer twice.
    locks: defaultdict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    # The leases the flow holds (entity id → owner), which the heartbeat renews.
    in_flight: dict[int, str] = field(default_factory=dict)
    # Failures of the platform in a row: a long enough streak makes the task give up its turn.
    streak: Streak = field(default_factory=Streak)
