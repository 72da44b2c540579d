"""Scheduling rules → APScheduler interval jobs that enqueue Time History runs.

The jobs only enqueue; the Runner executes. Rules are re-read every minute, so a rule changed in the
console takes effect without a restart.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import Session, col, select

from engine.runtime import env_seconds
from engine.store.models import Flow, Integration, ScheduleRule, TaskTrigger

if TYPE_CHECKING:
    from engine.runtime.clients import ClientPool
    from engine.service import Service

REFRESH_SECONDS = 60
# How often idle Fortnox grants are looked at; one unchanged for four such periods is refreshed, so a
# grant lives on while nothing syncs (refresh tokens die after 31–45 unused days).
KEEPALIVE_SECONDS = 6 * 3600


def within_active_hours(rule: ScheduleRule, now: datetime) -> bool:
    if not rule.active_from or not rule.active_to:
        return True
    start, end = dtime.fromisoformat(rule.active_from), dtime.fromisoformat(rule.active_to)
    t = now.time()
    return start <= t < end if start <= end else (t >= start or t < end)  # a window may span midnight


class Scheduler:
    def __init__(
        self, service: Service, on_enqueue: object = None, clients: ClientPool | None = None
    ) -> None:
        """`clients`: the runner's pool, so a keep-alive refresh and the runner's requests share one
        Fortnox client (and its refresh lock) per connection."""
        self.service = service
        self.on_enqueue = on_enqueue
        self.clients = clients
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._signatures: dict[str, tuple] = {}
        self.keepalive_seconds = env_seconds("JUNIPEER_FORTNOX_KEEPALIVE_SECONDS", KEEPALIVE_SECONDS)

    def start(self) -> None:
        self.scheduler.add_job(self.refresh, "interval", seconds=REFRESH_SECONDS, id="refresh-rules")
        self.scheduler.add_job(
            self.keep_fortnox_alive,
            "interval",
            seconds=self.keepalive_seconds,
            id="fortnox-keepalive",
            name="Fortnox keep-alive",
            coalesce=True,
            max_instances=1,
        )
        self.refresh()
        self.scheduler.start()

    async def keep_fortnox_alive(self) -> int:
        return await self.service.keep_fortnox_alive(
            self.clients, min_age=timedelta(seconds=4 * self.keepalive_seconds)
        )

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    @property
    def paused(self) -> bool:
        return self.scheduler.state == 2  # STATE_PAUSED

    def pause(self) -> None:
        self.scheduler.pause()

    def resume(self) -> None:
        self.scheduler.resume()

    def next_runs(self) -> list[tuple[str, datetime | None]]:
        return [
            (job.name, job.next_run_time) for job in self.scheduler.get_jobs() if job.id.startswith("rule-")
        ]

    def refresh(self) -> None:
        """Schedule the enabled rules of live integrations: an integration in onboarding is set up
        and tried with Export One / Export Many; it syncs on its own once set to Live mode."""
        with Session(self.service.db) as s:
            rules = list(
                s.exec(
                    select(ScheduleRule)
                    .join(Integration, col(Integration.id) == ScheduleRule.integration_id)
                    .where(Integration.live_mode)
                )
            )
        wanted = {f"rule-{r.id}": r for r in rules if r.enabled}
        for job_id in list(self._signatures):
            if job_id not in wanted:
                self.scheduler.remove_job(job_id)
                del self._signatures[job_id]
        for job_id, rule in wanted.items():
            signature = (rule.interval_minutes, tuple(rule.flow_keys), rule.active_from, rule.active_to)
            if self._signatures.get(job_id) == signature:
                continue
            if job_id in self._signatures:
                self.scheduler.remove_job(job_id)
            self.scheduler.add_job(
                self.fire,
                "interval",
                minutes=rule.interval_minutes,
                id=job_id,
                name=rule.name,
                args=[rule.id],
                next_run_time=datetime.now().astimezone(),
                coalesce=True,
                max_instances=1,
            )
            self._signatures[job_id] = signature

    def fire(self, rule_id: int) -> int:
        """Enqueue a run for each enabled flow of the rule; returns how many were enqueued."""
        with Session(self.service.db) as s:
            rule = s.get(ScheduleRule, rule_id)
            integ = s.get(Integration, rule.integration_id) if rule is not None else None
            # Active hours are UTC, like every time the console shows.
            if (
                rule is None
                or integ is None
                or not integ.live_mode
                or not rule.enabled
                or not within_active_hours(rule, datetime.now(UTC))
            ):
                return 0
            flows = list(
                s.exec(
                    select(Flow).where(
                        Flow.integration_id == rule.integration_id,
                        Flow.enabled,
                        Flow.key.in_(rule.flow_keys),  # type: ignore[attr-defined]
                    )
                )
            )
        n = 0
        for flow in flows:
            if self.service.sync(flow, TaskTrigger.SCHEDULE) is not None:
                n += 1
        if n and callable(self.on_enqueue):
            self.on_enqueue()
        return n
