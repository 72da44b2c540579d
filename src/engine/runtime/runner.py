"""The worker: claims tasks, runs their flow over the records they cover, and keeps counts.

Records stream from the retriever into a bounded queue and a few consumers store them concurrently;
the platform clients pace the requests, so concurrency only hides latency. A heartbeat extends the
task's and the in-flight entities' leases and publishes progress. On stop, consumers finish the
record in hand and the task goes back to pending for the next worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from types import ModuleType
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from engine import flows
from engine.errors import EngineError, hint
from engine.flows.base import FlowContext, Outcome
from engine.mapping import settings as settings_mod
from engine.platforms.http import PlatformError
from engine.runtime import env_seconds, queue
from engine.runtime import time_history as th
from engine.runtime.clients import ClientPool
from engine.runtime.outage import MAX_PAUSES, PLATFORM_DOWN_CODES, Outage, pause_delay
from engine.runtime.records import Recorder
from engine.secrets import SecretStore
from engine.store.models import (
    Connector,
    Entity,
    Flow,
    FlowFilter,
    LogLevel,
    Task,
    TaskStatus,
    utcnow,
)

COUNTERS = ("total", "processed", "synced", "failed", "skipped")
SHOP_SYNC_WAIT = 600.0  # seconds a payouts sync waits for the shop's running syncs


def counts_text(synced: int, failed: int, skipped: int) -> str:
    """How a task's outcome counts are worded: in the runner's task messages and wherever a task is
    shown, so a caller can tell when a message says no more than its counts."""
    return f"{synced} synced, {failed} failed, {skipped} skipped"


def message_beyond_counts(task: Task) -> str | None:
    """A task's message where it says more than its counts (an Export Many's message is only its
    counts), for views that show the counts anyway."""
    counts = counts_text(task.synced, task.failed, task.skipped)
    return task.message if task.message and task.message != counts else None


class StopRequested(Exception):
    pass


_frozen = False


def _freeze_startup_objects() -> None:
    """Once per process, move what exists before the first run (modules, models, clients) out of the
    garbage collector's sight. Full collections then scan only what the run created: in the backfill
    benchmark they stalled the event loop for 60-90 ms each (every in-flight request, and so every
    held rate-limit slot, waited), and 9-14 ms after the freeze."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


class Runner:
    def __init__(
        self,
        db: Engine,
        secrets: SecretStore,
        *,
        worker_id: str | None = None,
        max_tasks: int = 2,
        concurrency: int = 8,
        lease_seconds: float | None = None,
        poll_seconds: float = 0.5,
        progress: Callable[[int, dict[str, int]], None] | None = None,
        finished: Callable[[Task], None] | None = None,
    ) -> None:
        self.db = db
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.max_tasks = max_tasks
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds or env_seconds("JUNIPEER_LEASE_SECONDS", 60.0)
        self.poll_seconds = poll_seconds
        self.progress = progress
        # Told about every task this runner ends (completed, stopped, or paused by shutdown).
        self.finished = finished
        self.pool = ClientPool(secrets, db)
        self._stopping: asyncio.Event | None = None
        self._wakeup: asyncio.Event | None = None
        self.running: dict[int, asyncio.Task[Any]] = {}
        self._executing: set[asyncio.Task[Any]] = set()  # what `abort` cancels

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def stopping(self) -> asyncio.Event:
        if self._stopping is None:
            self._stopping = asyncio.Event()
        return self._stopping

    @property
    def wakeup(self) -> asyncio.Event:
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        return self._wakeup

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.set()

    def abort(self) -> None:
        """Stop at once, not after the records in hand: every task this runner executes is cancelled
        and handed back as pending. Exactly once still holds: a record cut short keeps its store
        intent, and its lease runs out for the next attempt."""
        self.stop()
        for running in list(self._executing):
            running.cancel()

    @contextlib.contextmanager
    def stopped_by_signals(self, say: Callable[[str], None] | None = None) -> Iterator[None]:
        """While inside, SIGINT or SIGTERM stops the runner after the records in hand, and a second
        one stops it at once (`abort`). Only the main thread may own signals: elsewhere (tests, the
        console's engine thread) this does nothing."""
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if self.stopping.is_set():
                if say is not None:
                    say("Stopping at once: the tasks are handed back as pending.")
                self.abort()
                return
            if say is not None:
                say("Stopping after the records in hand (press Ctrl+C again to stop at once)…")
            self.stop()

        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, on_signal)
        try:
            yield
        finally:
            for sig in signals:
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)

    def notify(self) -> None:
        """A task was enqueued in this process: look now instead of at the next poll."""
        self.wakeup.set()

    async def run(self, until_idle: bool = False) -> None:
        _freeze_startup_objects()
        try:
            while not self.stopping.is_set():
                queue.enqueue_due_retries(self.db)
                while len(self.running) < self.max_tasks:
                    task = queue.claim_next(self.db, self.worker_id, self.lease_seconds, set(self.running))
                    if task is None:
                        break
                    self.running[task.id] = asyncio.create_task(self.execute(task))  # type: ignore[index]
                if until_idle and not self.running and not queue.has_work(self.db):
                    break
                self.wakeup.clear()
                waiters: list[asyncio.Future[Any]] = [*self.running.values()]
                waiters.append(asyncio.ensure_future(self.wakeup.wait()))
                _done, _ = await asyncio.wait(
                    waiters, timeout=self.poll_seconds, return_when="FIRST_COMPLETED"
                )
                waiters[-1].cancel()
                for tid, t in list(self.running.items()):
                    if t.done():
                        del self.running[tid]
                        self._report(t.result())
            if self.running:
                for result in await asyncio.gather(*self.running.values(), return_exceptions=True):
                    if isinstance(result, Task):
                        self._report(result)
        finally:
            self.running.clear()
            await self.pool.aclose()

    def _report(self, task: Task) -> None:
        if self.finished is not None:
            self.finished(task)

    # -- one task -----------------------------------------------------------------------------
    async def execute(self, task: Task) -> Task:
        assert task.id is not None
        counters = {k: getattr(task, k) for k in COUNTERS}
        recorder = Recorder(
            self.db, task.integration_id, task.flow_id, task.id, self.worker_id, self.lease_seconds
        )
        in_flight: dict[int, str] = {}  # the leases the flow holds; the heartbeat renews them
        beat = asyncio.create_task(self._heartbeat(task.id, counters, recorder, in_flight))
        me = asyncio.current_task()
        if me is not None:
            self._executing.add(me)
        try:
            message = await self._run(task, counters, recorder, in_flight)
        except asyncio.CancelledError:
            queue.release(self.db, task.id, self.worker_id, **counters)
            recorder.info(f"Task {task.id} stopped at once; it resumes on the next run", code="TASK_PAUSED")
            raise
        except StopRequested:
            queue.release(self.db, task.id, self.worker_id, **counters)
            recorder.info(
                f"Task {task.id} paused by shutdown; it resumes on the next run", code="TASK_PAUSED"
            )
            task.status = TaskStatus.PENDING
            for k, v in counters.items():
                setattr(task, k, v)
            return task
        except Outage as outage:
            return self._outage(task, outage, recorder, counters)
        except (PlatformError, EngineError) as exc:
            if exc.code in PLATFORM_DOWN_CODES:  # the task's own reads (pages, counts) met an outage
                return self._outage(task, Outage(exc.code, exc.message), recorder, counters)
            text = f"Task {task.id} stopped: {exc.message}" + (
                f" — {hint(exc.code)}" if hint(exc.code) else ""
            )
            recorder.error(text, code=exc.code)
            return queue.finish(
                self.db, task.id, TaskStatus.STOPPED, f"{exc.code}: {exc.message}", **counters
            )
        except Exception as exc:
            recorder.error(f"Task {task.id} stopped by an internal error: {exc!r}", code="INTERNAL_ERROR")
            return queue.finish(self.db, task.id, TaskStatus.STOPPED, f"INTERNAL_ERROR: {exc!r}", **counters)
        finally:
            self._executing.discard(me)  # type: ignore[arg-type]
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            recorder.close()
        return queue.finish(self.db, task.id, TaskStatus.COMPLETED, message, **counters)

    def _outage(self, task: Task, outage: Outage, recorder: Recorder, counters: dict[str, int]) -> Task:
        """Give up the task's turn after a streak of the platform's failures: pause it with a growing
        delay, or stop it when a person must act (credentials) or the pauses are used up."""
        assert task.id is not None
        params = dict(queue.params_of(self.db, task.id))
        # Pauses count one outage: records synced since the last pause mean the platform came back,
        # so a later outage of a long task starts from the first, short pause again.
        recovered = counters["synced"] > int(params.get("synced_at_pause", counters["synced"]))
        pauses = 1 if recovered else int(params.get("pauses", 0)) + 1
        params["synced_at_pause"] = counters["synced"]
        what = hint(outage.code)
        if outage.needs_a_person or pauses > MAX_PAUSES:
            why = "" if outage.needs_a_person else f" after {MAX_PAUSES} pauses"
            recorder.error(
                f"Task {task.id} stopped{why}: {outage.message}" + (f" — {what}" if what else ""),
                code=outage.code,
            )
            return queue.finish(
                self.db, task.id, TaskStatus.STOPPED, f"{outage.code}: {outage.message}", **counters
            )
        params["pauses"] = pauses
        resume = utcnow() + pause_delay(pauses)
        message = (
            f"paused by {outage.code} (pause {pauses} of {MAX_PAUSES}); resumes at {resume:%H:%M:%S} UTC"
        )
        recorder.log(
            LogLevel.WARNING,
            f"Task {task.id} {message}: {outage.message}. It resumes where it stopped.",
            code="TASK_PAUSED",
        )
        queue.pause(self.db, task.id, self.worker_id, resume, message, params, **counters)
        task.status, task.message, task.not_before = TaskStatus.PENDING, message, resume
        return task

    async def _heartbeat(
        self, task_id: int, counters: dict[str, int], recorder: Recorder, in_flight: dict[int, str]
    ) -> None:
        interval = min(self.lease_seconds / 3, 1.0)
        while True:
            await asyncio.sleep(interval)
            queue.heartbeat(self.db, task_id, self.worker_id, self.lease_seconds, **counters)
            if in_flight:
                await recorder.arenew_leases(dict(in_flight))

    def _context(
        self, task: Task, recorder: Recorder, in_flight: dict[int, str]
    ) -> tuple[FlowContext, ModuleType, Flow]:
        with Session(self.db, expire_on_commit=False) as s:
            flow = s.get(Flow, task.flow_id)
            assert flow is not None
            if not flow.enabled:
                raise EngineError("FLOW_DISABLED", f"The flow {flow.name} is disabled in Configure > General")
            missing = settings_mod.missing_required(s, task.integration_id)
            if missing:
                labels = "; ".join(label for _, _, label in missing)
                raise EngineError("SETTINGS_REQUIRED", f"required settings are not saved: {labels}")
            conf = settings_mod.load(s, task.integration_id)
            filters = list(
                s.exec(select(FlowFilter).where(FlowFilter.flow_id == flow.id, FlowFilter.enabled))
            )
            connectors = {
                c.side: c
                for c in s.exec(select(Connector).where(Connector.integration_id == task.integration_id))
            }
        module = flows.module_for(flow.key)
        ctx = FlowContext(
            recorder=recorder,
            source=self.pool.get(connectors[flow.source_side]),
            target=self.pool.get(connectors[flow.target_side]),
            settings=conf,
            filters=filters,
            force=task.kind in ("export_one", "retry"),
            in_flight=in_flight,
        )
        return ctx, module, flow

    async def _run(
        self, task: Task, counters: dict[str, int], recorder: Recorder, in_flight: dict[int, str]
    ) -> str:
        ctx, module, flow = self._context(task, recorder, in_flight)
        params = dict(task.params or {})
        if task.kind == "export_one":
            return await self._export_one(ctx, module, task, params, counters)
        if task.kind == "retry":
            return await self._retry(ctx, module, task, params, counters)
        if task.kind == "export_many":
            return await self._export_many(ctx, module, task, params, counters)
        if task.kind == "sync":
            return await self._sync(ctx, module, flow, task, counters)
        raise EngineError("UNKNOWN_TASK", f"unknown task kind {task.kind!r}")

    def _count(self, task_id: int, counters: dict[str, int], outcome: Outcome) -> None:
        counters["processed"] += 1
        counters[outcome.value] += 1
        if self.progress is not None:
            self.progress(task_id, dict(counters))

    async def _stream(
        self,
        ctx: FlowContext,
        module: ModuleType,
        task_id: int,
        chunks: list[th.Window],
        fetch: Callable[[th.Window], AsyncIterator[list[dict]]],
        counters: dict[str, int],
        chunk_done: Callable[[th.Window, int], None],
    ) -> None:
        """Process every record of every chunk through one pipeline (no drain between chunks);
        `chunk_done(chunk, records)` runs as soon as all of a chunk's records are processed."""
        records: asyncio.Queue[tuple[int, dict] | None] = asyncio.Queue(maxsize=self.concurrency * 4)
        produced = [0] * len(chunks)
        finished = [0] * len(chunks)
        listed = [False] * len(chunks)

        def maybe_done(i: int) -> None:
            if listed[i] and finished[i] == produced[i]:
                listed[i] = False  # report once
                chunk_done(chunks[i], produced[i])

        async def produce() -> None:
            try:
                for i, chunk in enumerate(chunks):
                    async for page in fetch(chunk):
                        for record in page:
                            if self.stopping.is_set() or ctx.streak.tripped:
                                return
                            produced[i] += 1
                            await records.put((i, record))
                    listed[i] = True
                    maybe_done(i)
            finally:
                me = asyncio.current_task()
                # Cancelled (stopped at once): the consumers are cancelled too, and a full queue would
                # never take the end markers.
                if me is None or not me.cancelling():
                    for _ in range(self.concurrency):
                        await records.put(None)

        async def consume() -> None:
            while (item := await records.get()) is not None:
                i, record = item
                if self.stopping.is_set() or ctx.streak.tripped:
                    continue  # left for the resumed task: its chunk is not recorded as done
                self._count(task_id, counters, await module.process(ctx, record))
                finished[i] += 1
                maybe_done(i)

        results = await asyncio.gather(
            produce(), *(consume() for _ in range(self.concurrency)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        if ctx.streak.tripped:
            raise ctx.streak.tripped
        if self.stopping.is_set():
            raise StopRequested

    async def _export_one(
        self, ctx: FlowContext, module: ModuleType, task: Task, params: dict, counters: dict[str, int]
    ) -> str:
        ref = str(params["ref"])
        counters["total"] = 1
        record = await module.fetch_one(ctx, ref)
        if record is None:
            raise EngineError(
                "SOURCE_RECORD_NOT_FOUND", f"no {module.ENTITY} {ref!r} in {module.SOURCE_PLATFORM}"
            )
        outcome = await module.process(ctx, record)
        self._count(task.id, counters, outcome)  # type: ignore[arg-type]
        return f"{module.reference_of(record)}: {outcome.value}"

    async def _retry(
        self, ctx: FlowContext, module: ModuleType, task: Task, params: dict, counters: dict[str, int]
    ) -> str:
        ids = [int(i) for i in params.get("entity_ids", [])]
        with Session(self.db) as s:
            chosen = list(s.exec(select(Entity).where(Entity.id.in_(ids))))
            # A refund is credited in its order's attempt: retrying it retries the order, once.
            parent_ids = {e.parent_id for e in chosen if e.parent_id is not None}
            parents = {e.id: e for e in s.exec(select(Entity).where(Entity.id.in_(parent_ids)))}
        entities = list({(p := parents.get(e.parent_id, e)).id: p for e in chosen}.values())
        counters["total"] = len(entities)
        for entity in entities:
            if self.stopping.is_set():
                raise StopRequested
            record = await module.fetch_by_source_id(ctx, entity.source_id)
            if record is None:
                ctx.recorder.mark_error(
                    entity,
                    "SOURCE_RECORD_NOT_FOUND",
                    f"{entity.retriever_reference} no longer exists in {module.SOURCE_PLATFORM}",
                    entity.retriever_reference,
                )
                self._count(task.id, counters, Outcome.FAILED)  # type: ignore[arg-type]
                continue
            self._count(task.id, counters, await module.process(ctx, record))  # type: ignore[arg-type]
            if ctx.streak.tripped:
                raise ctx.streak.tripped
        return f"retried {len(entities)}"

    async def _export_many(
        self, ctx: FlowContext, module: ModuleType, task: Task, params: dict, counters: dict[str, int]
    ) -> str:
        start = datetime.combine(date.fromisoformat(params["from"]), time.min, tzinfo=UTC)
        end = datetime.combine(date.fromisoformat(params["to"]) + timedelta(days=1), time.min, tzinfo=UTC)
        floor = th.exclusion_start(ctx.settings.order.exclusion_date)
        if floor and start < floor:
            start = floor
        if start >= end:
            return "nothing to export: the range ends before the order exclusion date"
        if not flows.uses_time_history(module.KEY):
            await self._stream_since(ctx, module, task, th.Window(start, end), counters)
            return counts_text(counters["synced"], counters["failed"], counters["skipped"])
        done = set(params.get("done", []))
        await module.check_window(ctx, start)
        if not counters["total"]:
            counters["total"] = await ctx.source.count_orders(
                created_at_min=start, created_at_max=end, status="any"
            )
        todo = await th.skip_empty(
            [c for c in th.chunks(th.Window(start, end)) if c.start.isoformat() not in done],
            lambda a, b: ctx.source.count_orders(created_at_min=a, created_at_max=b, status="any"),
        )

        def checkpoint(chunk: th.Window, _records: int) -> None:
            done.add(chunk.start.isoformat())
            params["done"] = sorted(done)
            queue.save_params(self.db, task.id, params)  # type: ignore[arg-type]

        await self._stream(
            ctx,
            module,
            task.id,
            todo,
            lambda c: module.fetch_created(ctx, c.start, c.end),
            counters,
            checkpoint,
        )  # type: ignore[arg-type]
        return counts_text(counters["synced"], counters["failed"], counters["skipped"])

    async def _sync_since(
        self,
        ctx: FlowContext,
        module: ModuleType,
        flow: Flow,
        task: Task,
        counters: dict[str, int],
        run_start: datetime,
    ) -> str:
        """A flow whose records wait on others (a payout on its orders' invoices) reads everything
        since the exclusion date at every run: no Time History window can be called done while a
        record in it may still wait."""
        start = th.exclusion_start(ctx.settings.order.exclusion_date) or run_start - th.CHUNK
        await self._after_shop_syncs(task)
        await self._stream_since(ctx, module, task, th.Window(start, run_start), counters)
        self._synced(flow)
        return f"read {start:%Y-%m-%d} → {run_start:%Y-%m-%d %H:%M}: " + counts_text(
            counters["synced"], counters["failed"], counters["skipped"]
        )

    async def _after_shop_syncs(self, task: Task) -> None:
        """Payouts pay the invoices the shop's flows make: while a sync of one of those runs (here or
        in another worker, its lease alive), a since-read flow waits for it, so one run books what
        that run invoiced instead of failing its lines first. Never longer than SHOP_SYNC_WAIT."""
        deadline = asyncio.get_running_loop().time() + SHOP_SYNC_WAIT
        while not self.stopping.is_set() and asyncio.get_running_loop().time() < deadline:
            with Session(self.db) as s:
                busy = s.exec(
                    select(Task.id)
                    .join(Flow, col(Flow.id) == Task.flow_id)
                    .where(
                        Task.integration_id == task.integration_id,
                        Task.kind == "sync",
                        Task.status == TaskStatus.RUNNING,
                        col(Task.lease_until) > utcnow(),
                        # The flows that make the invoices (they load by Time History); never
                        # another since-read flow, which waits on the same syncs itself.
                        col(Flow.key).in_([k for k in flows.FLOW_MODULES if flows.uses_time_history(k)]),
                    )
                    .limit(1)
                ).first()
            if busy is None:
                return
            await asyncio.sleep(0.5)

    async def _stream_since(
        self, ctx: FlowContext, module: ModuleType, task: Task, window: th.Window, counters: dict[str, int]
    ) -> None:
        """Every record `module.fetch_since` lists for the window, as one chunk. Nothing counts them
        beforehand, so the task's total grows as they are listed."""

        async def fetch(chunk: th.Window) -> AsyncIterator[list[dict]]:
            async for page in module.fetch_since(ctx, chunk.start, chunk.end):
                counters["total"] += len(page)
                yield page

        await self._stream(ctx, module, task.id, [window], fetch, counters, lambda c, n: None)  # type: ignore[arg-type]

    def _synced(self, flow: Flow) -> None:
        with Session(self.db) as s:
            row = s.get(Flow, flow.id)
            if row is not None:
                row.last_synced_at = utcnow()
                s.add(row)
                s.commit()

    async def _sync(
        self, ctx: FlowContext, module: ModuleType, flow: Flow, task: Task, counters: dict[str, int]
    ) -> str:
        run_start = utcnow()
        if not flows.uses_time_history(flow.key):
            return await self._sync_since(ctx, module, flow, task, counters, run_start)
        window = th.plan(self.db, flow.id, ctx.settings.order.exclusion_date, run_start)  # type: ignore[arg-type]
        done = th.completed(self.db, flow.id, window)  # type: ignore[arg-type]
        await module.check_window(ctx, window.start)
        todo = await th.skip_empty(
            [c for c in th.chunks(window) if not th.is_covered(c, done)],
            lambda a, b: ctx.source.count_orders(updated_at_min=a, updated_at_max=b, status="any"),
            lambda empty: th.record_window(self.db, flow.id, task.id, empty, 0),  # type: ignore[arg-type]
        )
        if todo and not counters["total"]:
            counters["total"] = await ctx.source.count_orders(
                updated_at_min=todo[0].start, updated_at_max=window.end, status="any"
            )
        await self._stream(
            ctx,
            module,
            task.id,  # type: ignore[arg-type]
            todo,
            lambda c: module.fetch_updated(ctx, c.start, c.end),
            counters,
            lambda c, n: th.record_window(self.db, flow.id, task.id, c, n),  # type: ignore[arg-type]
        )
        th.advance(self.db, flow.id, window.end)  # type: ignore[arg-type]
        self._synced(flow)
        return f"loaded {window.start:%Y-%m-%d %H:%M} → {window.end:%Y-%m-%d %H:%M}: " + counts_text(
            counters["synced"], counters["failed"], counters["skipped"]
        )
