"""The engine inside another program (the console): scheduler + runner on a thread with their own
event loop, so a long Export Many never competes with the program's own loop for turns.

The host submits coroutines (`submit`) and reads state (`status`); everything the engine writes
goes to the database, where the host reads it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from engine.runtime.runner import Runner
    from engine.runtime.scheduler import Scheduler
    from engine.service import Service

T = TypeVar("T")


@dataclass(frozen=True)
class EngineStatus:
    alive: bool
    running_tasks: int
    scheduler_paused: bool
    next_runs: list[tuple[str, datetime | None]]

    @property
    def label(self) -> str:
        if not self.alive:
            return "stopped"
        if self.running_tasks:
            return f"running {self.running_tasks} task{'s' if self.running_tasks > 1 else ''}"
        return "scheduler paused" if self.scheduler_paused else "idle"


class EmbeddedEngine:
    def __init__(self, service: Service, *, scheduler: bool = True, concurrency: int = 8) -> None:
        self.service = service
        self.with_scheduler = scheduler
        self.concurrency = concurrency
        self.loop: asyncio.AbstractEventLoop | None = None
        self.runner: Runner | None = None
        self.scheduler: Scheduler | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._released = threading.Event()
        self._released.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="junipeer-engine", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced through start() / status()
            self._error = exc
            self._ready.set()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        from engine.runtime.scheduler import Scheduler

        self.runner = self.service.runner(concurrency=self.concurrency)
        if self.with_scheduler:
            self.scheduler = Scheduler(self.service, on_enqueue=self.runner.notify, clients=self.runner.pool)
            self.scheduler.start()
        self._ready.set()
        try:
            await self.runner.run()
        finally:
            if self.scheduler is not None:
                self.scheduler.shutdown()
            await self.service.aclose_pool()

    # -- host side ----------------------------------------------------------------------------
    def submit(self, fn: Callable[[], Awaitable[T]]) -> concurrent.futures.Future[T]:
        """Run `fn()` on the engine's loop; the future resolves in the host's thread."""
        if self.loop is None:
            raise RuntimeError("the engine is not running")

        async def call() -> T:
            return await fn()

        return asyncio.run_coroutine_threadsafe(call(), self.loop)

    def call_soon(self, fn: Callable[[], Any]) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(fn)

    def notify(self) -> None:
        """A task was enqueued: the runner looks now instead of at its next poll."""
        if self.runner is not None:
            self.call_soon(self.runner.notify)

    def hold(self, at_most: float = 0.25) -> None:
        """The host needs the interpreter now (the console answers a key press): the engine's loop
        stops at its next turn, without holding the GIL, until `release()` or for `at_most`
        seconds. Both threads are Python, so without this a busy engine takes about half of every
        turn the console needs; a held loop only delays its requests by as much."""
        if self.loop is None or not self._released.is_set():
            return
        self._released.clear()
        try:
            self.loop.call_soon_threadsafe(self._released.wait, at_most)
        except RuntimeError:  # the loop closed meanwhile
            self._released.set()

    def release(self) -> None:
        self._released.set()

    def refresh_scheduler(self) -> None:
        """Rules or live mode changed: re-read them now, not at the next minute's refresh."""
        if self.scheduler is not None:
            self.call_soon(self.scheduler.refresh)

    def pause_scheduler(self) -> None:
        if self.scheduler is not None:
            self.call_soon(self.scheduler.pause)

    def resume_scheduler(self) -> None:
        if self.scheduler is not None:
            self.call_soon(self.scheduler.resume)

    def status(self) -> EngineStatus:
        alive = self._thread is not None and self._thread.is_alive()
        runner, sched = self.runner, self.scheduler
        return EngineStatus(
            alive=alive,
            running_tasks=len(runner.running) if runner else 0,
            scheduler_paused=bool(sched and sched.paused),
            next_runs=sched.next_runs() if sched and alive else [],
        )

    def stop(self, timeout: float = 15.0) -> None:
        """Finish the records in hand, hand unfinished tasks back, and end the thread."""
        self.release()
        if self.runner is not None and self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.runner.stop)
        if self._thread is not None:
            self._thread.join(timeout)
