"""What every screen of the console gets: the service facade, the integration in view, the
embedded engine, and the one registry of actions that feeds key bindings, the command palette and
the `?` help."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.runtime.embedded import EmbeddedEngine
    from engine.service import Service


@dataclass(frozen=True)
class Action:
    """One thing an operator can do. `key` is a Textual key ("e", "ctrl+r"); `section` is None for
    global actions; `run` is the name of an `action_*` method on the section (or the app) without
    the prefix, e.g. "export_one"."""

    id: str
    title: str
    key: str | None
    run: str
    section: str | None = None
    description: str = ""
    destructive: bool = False


@dataclass
class ConsoleContext:
    service: Service
    integration_id: int
    engine: EmbeddedEngine | None = None
    # Frozen in snapshot tests so every timestamp and "x minutes ago" is stable.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    extra: dict[str, Any] = field(default_factory=dict)

    def notify_engine(self) -> None:
        """A task was enqueued: wake the embedded engine (no-op without one)."""
        if self.engine is not None:
            self.engine.notify()

    def refresh_schedule(self) -> None:
        """Scheduling rules or live mode changed: the embedded scheduler re-reads them now."""
        if self.engine is not None:
            self.engine.refresh_scheduler()
