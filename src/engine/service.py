"""The one facade the console and the CLI call. Nothing above this layer touches SQL or a platform.

Lists page by keyset (`before_id`): newest first, never an OFFSET, so a screen opens as fast on a
million rows as on a thousand.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, or_, tuple_, union
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from engine import dates
from engine import flows as flows_mod
from engine.connect import ConnectMixin, ensure_flows
from engine.errors import EngineError
from engine.flows.order_refunds import split_reference
from engine.mapping import filters as filters_mod
from engine.mapping import oss_csv
from engine.mapping import settings as settings_mod
from engine.platforms.http import PlatformError
from engine.runtime import queue
from engine.runtime import time_history as th
from engine.runtime.clients import ClientPool
from engine.runtime.records import parse_time
from engine.runtime.runner import Runner
from engine.secrets import SecretStore, default_store
from engine.store import db as dbmod
from engine.store.models import (
    ENTITY_TYPES,
    Connector,
    Entity,
    EntityStatus,
    EntityTransaction,
    Flow,
    FlowFilter,
    Integration,
    LogEntry,
    LookupCache,
    Reference,
    ScheduleRule,
    Task,
    TaskStatus,
    TaskTrigger,
    TimeHistory,
    WebhookSubscription,
    utcnow,
)

# The sandbox's carriers and gateways → its Fortnox codes (see engine.sandbox.generator).
SANDBOX_SHIPPING = {
    "PostNord MyPack Collect": "PN",
    "DHL Express": "DHL",
    "Budbee Home": "BUD",
    "Instabox": "IBX",
    "UPS Standard": "UPS",
}
SHOPIFY_PAYMENTS_FLOW = "shopify_payments_payouts_to_fortnox"
SANDBOX_PAYMENT = {"stripe": "K", "paypal": "PP", "klarna": "KL", "shopify_payments": "K"}
# The sandbox company's OSS sales accounts (engine.sandbox.fortnox_company) for the demo shop's EU markets.
SANDBOX_OSS_ACCOUNTS = {
    "DK": "3161", "DE": "3162", "DE 7": "3163", "NL": "3164", "NL 9": "3165", "FI": "3166",
    "FI 14": "3167", "FI 10": "3168",
}  # fmt: skip

# Entities per retry task of a bulk retry: a chunk's task stays short enough to watch in Tasks and
# to hand back on shutdown, and several workers can take the chunks at once.
RETRY_CHUNK = 500


@dataclass(frozen=True)
class EntitySelection:
    """The entities a bulk retry takes: the Entities screen's tab, status and search, or `junipeer
    retry`'s --type, --status, --code and --since (when the entity last changed: its error)."""

    entity_type: str | None = None
    status: str | None = None
    ref: str | None = None
    code: str | None = None
    since: datetime | None = None


# What a synced entity became in the target, where that is not a record of the same name.
TARGET_NOUNS = {"refund": "credit invoice", "payout": "voucher", "payout_line": "invoice payment"}


@dataclass
class Explanation:
    ref: str
    verdict: (
        str  # SYNCED | ERROR | PENDING | FILTERED | EXCLUDED | NOT_YET_LOADED | NOT_IN_SOURCE | NOT_SYNCED
    )
    summary: str
    details: list[str] = field(default_factory=list)
    entity: Entity | None = None
    references: list[Reference] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    logs: list[LogEntry] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "verdict": self.verdict,
            "summary": self.summary,
            "details": self.details,
            "entity": self.entity.model_dump(exclude={"raw_source", "raw_target"}) if self.entity else None,
            "references": [r.model_dump() for r in self.references],
            "tasks": [t.id for t in self.tasks],
            "logs": [
                f"{log.at:%Y-%m-%d %H:%M:%S} {log.level} {log.code or ''} {log.message}" for log in self.logs
            ],
        }


class Service(ConnectMixin):
    def __init__(
        self,
        db_url: str | None = None,
        *,
        secrets: SecretStore | None = None,
        data_dir: Path | None = None,
        upgrade: bool = True,
    ) -> None:
        """`upgrade`: bring an older schema up to date (`upgraded_from` then says from where);
        without it an older schema is refused with SCHEMA_OUTDATED."""
        self.data_dir = data_dir or dbmod.data_dir()
        self.db: Engine = dbmod.make_engine(db_url or dbmod.default_url())
        try:
            self.upgraded_from = dbmod.prepare(self.db, upgrade=upgrade)
        except BaseException:
            self.db.dispose()
            raise
        self.secrets = secrets or default_store(self.data_dir)
        self._pool: ClientPool | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None

    def session(self) -> Session:
        return Session(self.db, expire_on_commit=False)

    async def aclose_pool(self) -> None:
        """Close this loop's platform clients (another loop's die with that loop)."""
        if self._pool is not None and self._pool_loop is asyncio.get_running_loop():
            await self._pool.aclose()
        self._pool = None

    async def aclose(self) -> None:
        await self.aclose_pool()
        self.db.dispose()

    @property
    def pool(self) -> ClientPool:
        """Clients for this event loop: httpx connections belong to the loop that opened them, and
        the CLI runs each command in a loop of its own."""
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool_loop is not loop:
            self._pool, self._pool_loop = ClientPool(self.secrets, self.db), loop
        return self._pool

    # -- integrations -------------------------------------------------------------------------
    def integrations(self) -> list[Integration]:
        with self.session() as s:
            return list(s.exec(select(Integration).order_by(Integration.id)))

    def integration(self, name_or_id: str | int | None = None) -> Integration:
        with self.session() as s:
            if name_or_id is None:
                rows = list(s.exec(select(Integration).order_by(Integration.id)))
                if not rows:
                    raise EngineError(
                        "NO_INTEGRATION",
                        "No integration yet: run `junipeer integrations create NAME` "
                        "(or `junipeer sandbox connect --url URL`)",
                    )
                if len(rows) > 1:
                    names = ", ".join(r.name for r in rows)
                    raise EngineError("AMBIGUOUS_INTEGRATION", f"Several integrations ({names}): pick one")
                return rows[0]
            key = str(name_or_id)
            row = s.exec(
                select(Integration).where(
                    or_(Integration.name == key, Integration.id == (int(key) if key.isdigit() else -1))
                )
            ).first()
            if row is None:
                raise EngineError("NO_INTEGRATION", f"No integration named {key!r}")
            return row

    def update_integration(
        self,
        integration_id: int,
        *,
        name: str | None = None,
        onboarding_mode: bool | None = None,
        live_mode: bool | None = None,
    ) -> Integration:
        """Configure > General: rename, onboarding mode, live mode."""
        with self.session() as s:
            integ = s.get(Integration, integration_id)
            if integ is None:
                raise EngineError("NO_INTEGRATION", f"No integration {integration_id}")
            if name is not None:
                name = name.strip()
                if not name:
                    raise EngineError("BAD_INPUT", "An integration needs a name")
                clash = s.exec(
                    select(Integration).where(Integration.name == name, Integration.id != integration_id)
                ).first()
                if clash is not None:
                    raise EngineError("BAD_INPUT", f"Another integration is already named {name!r}")
                integ.name = name
            if onboarding_mode is not None:
                integ.onboarding_mode = onboarding_mode
            if live_mode is not None:
                integ.live_mode = live_mode
            s.add(integ)
            s.commit()
            return integ

    # -- scheduling and webhooks --------------------------------------------------------------
    def schedule_rules(self, integration_id: int) -> list[ScheduleRule]:
        with self.session() as s:
            return list(
                s.exec(
                    select(ScheduleRule)
                    .where(ScheduleRule.integration_id == integration_id)
                    .order_by(ScheduleRule.id)
                )
            )

    def save_schedule_rule(
        self,
        integration_id: int,
        *,
        name: str,
        flow_keys: list[str],
        interval_minutes: int,
        active_from: str | None = None,
        active_to: str | None = None,
        enabled: bool = True,
        rule_id: int | None = None,
    ) -> ScheduleRule:
        """Add or edit a scheduling rule; the running scheduler picks it up within a minute."""
        from datetime import time as dtime

        if not name.strip():
            raise EngineError("BAD_INPUT", "A scheduling rule needs a name")
        if interval_minutes < 1:
            raise EngineError("BAD_INPUT", "The interval is at least 1 minute")
        known = {f.key for f in self.flows(integration_id)}
        unknown = [k for k in flow_keys if k not in known]
        if not flow_keys or unknown:
            raise EngineError("BAD_INPUT", f"Pick flows among: {', '.join(sorted(known))}")
        for label, value in (("from", active_from), ("to", active_to)):
            if value:
                try:
                    dtime.fromisoformat(value)
                except ValueError:
                    raise EngineError(
                        "BAD_INPUT", f"Active {label} {value!r} is not a time like 06:00"
                    ) from None
        if bool(active_from) != bool(active_to):
            raise EngineError("BAD_INPUT", "Give both ends of the active hours, or neither")
        with self.session() as s:
            rule = (
                s.get(ScheduleRule, rule_id)
                if rule_id
                else ScheduleRule(integration_id=integration_id, name=name)
            )
            if rule is None:
                raise EngineError("NO_RULE", f"No scheduling rule {rule_id}")
            rule.name, rule.flow_keys, rule.interval_minutes = name.strip(), list(flow_keys), interval_minutes
            rule.active_from, rule.active_to, rule.enabled = active_from or None, active_to or None, enabled
            s.add(rule)
            s.commit()
            return rule

    def delete_schedule_rule(self, rule_id: int) -> None:
        with self.session() as s:
            rule = s.get(ScheduleRule, rule_id)
            if rule is not None:
                s.delete(rule)
                s.commit()

    def webhook_subscriptions(self, integration_id: int) -> list[WebhookSubscription]:
        with self.session() as s:
            return list(
                s.exec(
                    select(WebhookSubscription)
                    .where(WebhookSubscription.integration_id == integration_id)
                    .order_by(WebhookSubscription.topic)
                )
            )

    def connectors(self, integration_id: int) -> list[Connector]:
        with self.session() as s:
            return list(
                s.exec(
                    select(Connector)
                    .where(Connector.integration_id == integration_id)
                    .order_by(Connector.side)
                )
            )

    async def connect_sandbox(
        self,
        info: dict[str, Any],
        name: str = "Sandbox",
        *,
        live: bool = False,
        stripe: bool = False,
        shopify_payments: bool = False,
    ) -> Integration:
        """`junipeer sandbox connect`: the connect steps an operator takes, on a running sandbox.
        Create the integration unless it exists (its flows on), connect Shopify with the sandbox's
        Admin API token and Fortnox with the grant the sandbox made, fill the settings never saved
        with working values, and with `live` set it to Live mode so its scheduling rules run.
        Payouts are booked only when asked for: `stripe` connects Stripe, `shopify_payments` keeps
        the Shopify Payments payouts flow that the sandbox shop's granted scope turns on."""
        with self.session() as s:
            integ = s.exec(select(Integration).where(Integration.name == name)).first()
        if integ is None:
            integ = self.create_integration(name, flows_enabled=True)
        with self.session() as s:
            ensure_flows(s, integ.id, enabled=True)  # type: ignore[arg-type]
        scale = float(info.get("time_scale", 1.0))
        pacing = bool(info.get("limits", True))  # a sandbox served with --no-limits has no window
        shop, fx = info["shopify"], info["fortnox"]
        await self.connect_shopify(
            integ.id,  # type: ignore[arg-type]
            shop=shop.get("shop_domain") or "junipeer-demo.myshopify.com",
            access_token=shop["access_token"],
            webhook_secret=shop.get("webhook_secret"),
            url=shop["base_url"],
            api_version=shop.get("api_version"),
            connection="sandbox",
            time_scale=scale,
            pacing=pacing,
        )
        if not shopify_payments:
            payouts = next((f for f in self.flows(integ.id) if f.key == SHOPIFY_PAYMENTS_FLOW), None)  # type: ignore[arg-type]
            if payouts is not None and payouts.enabled and payouts.last_synced_at is None:
                self.enable_flow(integ.id, SHOPIFY_PAYMENTS_FLOW, False)  # type: ignore[arg-type]
        await self.connect_fortnox(
            integ.id,  # type: ignore[arg-type]
            client_id=fx["client_id"],
            client_secret=fx["client_secret"],
            refresh_token=fx["refresh_token"],
            url=fx["base_url"],
            token_url=fx["token_url"],
            auth_url=fx.get("auth_url"),
            connection="sandbox",
            time_scale=scale,
            pacing=pacing,
        )
        if stripe:  # its payouts flow then books the sandbox's Stripe payouts
            await self.connect_stripe(
                integ.id,  # type: ignore[arg-type]
                api_key=info["stripe"]["api_key"],
                url=info["stripe"]["base_url"],
                connection="sandbox",
            )
        # Keep what an operator already saved; fill only what was never saved.
        saved = self.settings(integ.id)  # type: ignore[arg-type]
        defaults = {
            "order": {"exclusion_date": saved.order.exclusion_date or (date.today() - timedelta(days=90))},
            "customer": {"default_name": saved.customer.default_name or "Webshop customer"},
            "shipping": {"mapping": saved.shipping.mapping or SANDBOX_SHIPPING},
            "payment": {"mapping": saved.payment.mapping or SANDBOX_PAYMENT},
            "sales_accounts": {"oss_accounts": saved.sales_accounts.oss_accounts or SANDBOX_OSS_ACCOUNTS},
            "invoice": {},
        }
        for category, values in defaults.items():
            self.save_settings(integ.id, category, values)  # type: ignore[arg-type]
        if live:
            integ = self.update_integration(integ.id, live_mode=True, onboarding_mode=False)  # type: ignore[arg-type]
        return integ

    def set_credentials(
        self, connector_id: int, values: dict[str, Any], options: dict[str, Any] | None = None
    ) -> Connector:
        """Store new credentials (Configure > Connectors > Manage credentials), merged over the stored
        ones so one value can be replaced alone. The secret goes to the secret store, never the
        database; clients everywhere pick it up on their next task."""
        with self.session() as s:
            conn = s.get(Connector, connector_id)
            if conn is None:
                raise EngineError("NO_CONNECTOR", f"No connector {connector_id}")
            typed = {k: str(v).strip() for k, v in values.items() if str(v or "").strip()}
            merged = {**(self.secrets.get(conn.credential_ref) or {}), **typed}
            new_app = "client_secret" in typed or "client_id" in (options or {})
            shopify_app = conn.platform == "shopify" and conn.options.get("auth") == "client_credentials"
            if "refresh_token" in typed or (shopify_app and new_app):
                # A new grant or app: the access token held so far belongs to the old one.
                merged.pop("access_token", None)
                merged.pop("expires_at", None)
            missing = [k for k in _required_secrets(conn) if not merged.get(k)]
            if not (typed or options) or missing:
                raise EngineError("BAD_INPUT", f"{conn.platform} needs {', '.join(missing) or 'a new value'}")
            if options:
                conn.options = {**conn.options, **options}
            conn.status = "disconnected"
            s.add(conn)
            s.commit()
        self.secrets.set(conn.credential_ref, {**merged, "revision": uuid.uuid4().hex})
        return conn

    # -- flows --------------------------------------------------------------------------------
    def flows(self, integration_id: int) -> list[Flow]:
        with self.session() as s:
            return list(s.exec(select(Flow).where(Flow.integration_id == integration_id).order_by(Flow.id)))

    def flow(self, integration_id: int, key: str | int) -> Flow:
        needle = str(key).lower()
        for flow in self.flows(integration_id):
            if needle in (flow.key.lower(), flow.name.lower(), str(flow.id)):
                return flow
        names = ", ".join(f.key for f in self.flows(integration_id))
        raise EngineError("NO_FLOW", f"No flow {key!r}; flows: {names}")

    def set_flow_enabled(self, flow_id: int, enabled: bool) -> None:
        with self.session() as s:
            flow = s.get(Flow, flow_id)
            assert flow is not None
            flow.enabled = enabled
            s.add(flow)
            s.commit()

    # -- tasks --------------------------------------------------------------------------------
    def _enqueue(
        self,
        flow: Flow,
        kind: str,
        params: dict[str, Any],
        trigger: str = TaskTrigger.MANUAL,
        retry_of: int | None = None,
    ) -> Task:
        if kind in ("export_one", "export_many") and not flow.manual_allowed:
            raise EngineError("MANUAL_NOT_ALLOWED", "You can't run this job manually.")
        return queue.enqueue(
            self.db,
            integration_id=flow.integration_id,
            flow_id=flow.id,  # type: ignore[arg-type]
            kind=kind,
            trigger=trigger,
            params=params,
            retry_of=retry_of,
        )

    def export_one(self, flow: Flow, ref: str) -> Task:
        _check_length(ref, "The reference")
        ref = ref.strip()
        if not ref:
            raise EngineError("BAD_INPUT", "Export One needs a reference such as #1001")
        return self._enqueue(flow, "export_one", {"ref": ref})

    def export_many(self, flow: Flow, start: date, end: date) -> Task:
        dates.check(start, "Export Many's first day")
        dates.check(end, "Export Many's last day")
        if end < start:
            raise EngineError("BAD_INPUT", f"The range ends ({end}) before it starts ({start})")
        return self._enqueue(flow, "export_many", {"from": start.isoformat(), "to": end.isoformat()})

    def sync(self, flow: Flow, trigger: str = TaskTrigger.SCHEDULE) -> Task | None:
        """Enqueue a Time History run unless one is already waiting or running for the flow."""
        with self.session() as s:
            busy = s.exec(
                select(Task.id).where(
                    Task.flow_id == flow.id,
                    Task.kind == "sync",
                    col(Task.status).in_([TaskStatus.PENDING, TaskStatus.RUNNING]),
                )
            ).first()
        return None if busy else self._enqueue(flow, "sync", {}, trigger)

    def retry_entity(self, entity_id: int) -> Task:
        entity = self.entity(entity_id)
        with self.session() as s:
            flow = s.get(Flow, entity.flow_id)
        assert flow is not None
        return self._enqueue(flow, "retry", {"entity_ids": [entity_id]}, TaskTrigger.RETRY)

    def _retryable(self, integration_id: int, sel: EntitySelection) -> Any:
        """Ids and flows of the selected entities that a retry can re-fetch: the records their flow
        retrieves. A side record (a customer made for an order) is re-synced with its order."""
        q = (
            select(Entity.id, Entity.flow_id)
            .join(Flow, col(Flow.id) == Entity.flow_id)
            .where(
                *_entity_conditions(integration_id, sel.entity_type, sel.status, sel.ref),
                col(Entity.entity_type) == Flow.entity_type,
            )
        )
        if sel.code:
            q = q.where(Entity.error_code == sel.code.strip().upper())
        if sel.since:
            q = q.where(Entity.last_updated >= sel.since)
        return q

    def count_retryable(self, integration_id: int, selection: EntitySelection) -> int:
        """How many entities `retry_entities` would re-sync: what a confirmation shows."""
        with self.session() as s:
            subquery = self._retryable(integration_id, selection).subquery()
            return int(s.exec(select(func.count()).select_from(subquery)).one())

    def retry_entities(self, integration_id: int, selection: EntitySelection) -> list[Task]:
        """Enqueue retry tasks for every selected entity, RETRY_CHUNK entities per task; none when
        nothing matches."""
        with self.session() as s:
            rows = s.exec(self._retryable(integration_id, selection).order_by(col(Entity.id))).all()
            flows = {f.id: f for f in s.exec(select(Flow).where(col(Flow.id).in_({fid for _, fid in rows})))}
        by_flow: dict[int, list[int]] = {}
        for entity_id, flow_id in rows:
            by_flow.setdefault(flow_id, []).append(entity_id)
        return [
            self._enqueue(
                flows[flow_id], "retry", {"entity_ids": ids[i : i + RETRY_CHUNK]}, TaskTrigger.RETRY
            )
            for flow_id, ids in by_flow.items()
            for i in range(0, len(ids), RETRY_CHUNK)
        ]

    def retry_task(self, task_id: int) -> Task:
        task = self.task(task_id)
        with self.session() as s:
            flow = s.get(Flow, task.flow_id)
            failed_ids = list(
                s.exec(
                    select(Entity.id)
                    .join(EntityTransaction, col(EntityTransaction.entity_id) == Entity.id)
                    .where(EntityTransaction.task_id == task_id, Entity.status == EntityStatus.ERROR)
                    .distinct()
                )
            )
        assert flow is not None
        if task.status == TaskStatus.STOPPED or not failed_ids:
            return self._enqueue(flow, task.kind, dict(task.params), TaskTrigger.RETRY, retry_of=task_id)
        return self._enqueue(flow, "retry", {"entity_ids": failed_ids}, TaskTrigger.RETRY, retry_of=task_id)

    def runner(self, **kwargs: Any) -> Runner:
        return Runner(self.db, self.secrets, **kwargs)

    async def run_now(self, task: Task, progress: Any = None, say: Any = None) -> Task:
        """Run one enqueued task in this process (the CLI's Export One / Export Many). Ctrl+C (or
        SIGTERM) hands it back as pending after the records in hand, a second one at once; `say`
        hears what the signals do."""
        runner = self.runner(progress=progress)
        try:
            claimed = queue.claim(self.db, task.id, runner.worker_id, runner.lease_seconds)  # type: ignore[arg-type]
            if claimed is None:  # a running worker took it first: report where it stands
                return self.task(task.id)  # type: ignore[arg-type]
            with runner.stopped_by_signals(say):
                execution = asyncio.ensure_future(runner.execute(claimed))
                try:
                    return await execution
                except asyncio.CancelledError:
                    if not execution.cancelled():  # this coroutine itself was cancelled
                        raise
                    return self.task(task.id)  # type: ignore[arg-type]
        finally:
            await runner.pool.aclose()

    def task(self, task_id: int) -> Task:
        with self.session() as s:
            task = s.get(Task, task_id)
            if task is None:
                raise EngineError("NO_TASK", f"No task {task_id}")
            return task

    def tasks(
        self,
        integration_id: int,
        *,
        status: str | None = None,
        flow_id: int | None = None,
        entity_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[Task]:
        q = select(Task).where(Task.integration_id == integration_id)
        if status:
            q = q.where(Task.status == status)
        if flow_id:
            q = q.where(Task.flow_id == flow_id)
        if entity_type:
            q = q.where(Task.flow_id.in_(select(Flow.id).where(Flow.entity_type == entity_type)))  # type: ignore[attr-defined]
        if since:
            q = q.where(Task.created_at >= since)
        if until:
            q = q.where(Task.created_at < until)
        # A date range alone is read by creation time, a range of ix_task_integration_created_id:
        # in id order SQLite walks every task created after the range (a "to" date before the first
        # task: 33 ms on 50,000 tasks, once a second on the Tasks screen). Ids grow with creation
        # time, so both orders list the same tasks the same way.
        by_creation = bool(since or until) and not (status or flow_id or entity_type)
        if before_id and by_creation:
            after = select(Task.created_at).where(Task.id == before_id).scalar_subquery()
            q = q.where(tuple_(Task.created_at, Task.id) < tuple_(after, before_id))
        elif before_id:
            q = q.where(Task.id < before_id)
        order = (col(Task.created_at).desc(), col(Task.id).desc()) if by_creation else (col(Task.id).desc(),)
        with self.session() as s:
            return list(s.exec(q.order_by(*order).limit(limit)))

    # -- logs ---------------------------------------------------------------------------------
    def logs(
        self,
        integration_id: int,
        *,
        ref: str | None = None,
        level: str | None = None,
        flow_id: int | None = None,
        task_id: int | None = None,
        text: str | None = None,
        before_id: int | None = None,
        after_id: int | None = None,
        limit: int = 100,
    ) -> list[LogEntry]:
        _check_length(ref, "The reference")
        _check_length(text, "The search text")
        q = select(LogEntry).where(LogEntry.integration_id == integration_id)
        if ref:
            # An id subquery keeps SQLite on the reference index instead of walking the id index.
            q = q.where(
                col(LogEntry.id).in_(
                    select(LogEntry.id).where(
                        LogEntry.integration_id == integration_id,
                        col(LogEntry.reference).in_(_ref_variants(ref)),
                    )
                )
            )
        if level:
            q = q.where(LogEntry.level == level)
        if flow_id:
            q = q.where(LogEntry.flow_id == flow_id)
        if task_id:
            q = q.where(LogEntry.task_id == task_id)
        if text:
            q = q.where(or_(col(LogEntry.message).contains(text), col(LogEntry.code).contains(text.upper())))
        if before_id:
            q = q.where(LogEntry.id < before_id)
        if after_id:
            q = q.where(LogEntry.id > after_id)
        with self.session() as s:
            return list(s.exec(q.order_by(col(LogEntry.id).desc()).limit(limit)))

    # -- entities -----------------------------------------------------------------------------
    def entities(
        self,
        integration_id: int,
        *,
        entity_type: str | None = None,
        status: str | None = None,
        ref: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[Entity]:
        _check_length(ref, "The reference")
        q = select(Entity).where(*_entity_conditions(integration_id, entity_type, status, ref))
        if before_id:
            q = q.where(Entity.id < before_id)
        with self.session() as s:
            return list(s.exec(q.order_by(col(Entity.id).desc()).limit(limit)))

    def entity(self, entity_id: int) -> Entity:
        with self.session() as s:
            entity = s.get(Entity, entity_id)
            if entity is None:
                raise EngineError("NO_ENTITY", f"No entity {entity_id}")
            return entity

    def transactions(self, entity_id: int) -> list[EntityTransaction]:
        with self.session() as s:
            return list(
                s.exec(
                    select(EntityTransaction)
                    .where(EntityTransaction.entity_id == entity_id)
                    .order_by(col(EntityTransaction.id))
                )
            )

    def entity_types(self, integration_id: int) -> list[str]:
        """The entity types this integration holds records of, probed one index lookup per
        candidate (what its flows produce and the types every console knows), so it costs the
        same on a million entities as on ten; entity_counts groups them all (0.1 s at 1M)."""
        candidates = {f.entity_type for f in self.flows(integration_id)} | set(ENTITY_TYPES)
        with self.session() as s:
            return sorted(
                etype
                for etype in candidates
                if s.exec(
                    select(Entity.id)
                    .where(Entity.integration_id == integration_id, Entity.entity_type == etype)
                    .limit(1)
                ).first()
                is not None
            )

    def entity_counts(self, integration_id: int) -> dict[str, dict[str, int]]:
        """{entity_type: {status: n}}"""
        with self.session() as s:
            rows = s.exec(
                select(Entity.entity_type, Entity.status, func.count())
                .where(Entity.integration_id == integration_id)
                .group_by(Entity.entity_type, Entity.status)
            ).all()
        out: dict[str, dict[str, int]] = {}
        for etype, status, n in rows:
            out.setdefault(etype, {})[status] = n
        return out

    def errors_left(self, since: datetime) -> int:
        """Records that ended in error since `since` and wait for a person: no automatic retry is
        coming for them (a data error, or the automatic attempts are used up)."""
        with self.session() as s:
            return s.exec(
                select(func.count()).where(
                    Entity.status == EntityStatus.ERROR,
                    Entity.retry_at.is_(None),  # type: ignore[union-attr]
                    Entity.last_updated >= since,
                )
            ).one()

    def task_counts(self, integration_id: int) -> dict[str, int]:
        with self.session() as s:
            rows = s.exec(
                select(Task.status, func.count())
                .where(Task.integration_id == integration_id)
                .group_by(Task.status)
            ).all()
        return dict(rows)  # type: ignore[arg-type]

    def task_counts_by_day(
        self, integration_id: int, first_day: date, days: int
    ) -> dict[date, dict[str, int]]:
        """The tasks created on each UTC day from `first_day` on, counted by status: one grouped
        query over the days' range of ix_task_integration_created_id, however many tasks a day has."""
        starts = [datetime.combine(first_day + timedelta(days=i), time.min, UTC) for i in range(days + 1)]
        day = case(*((Task.created_at < starts[i + 1], i) for i in range(days)))
        with self.session() as s:
            rows = s.exec(
                select(day, Task.status, func.count())
                .where(
                    Task.integration_id == integration_id,
                    Task.created_at >= starts[0],
                    Task.created_at < starts[-1],
                )
                .group_by(day, Task.status)
            ).all()
        out: dict[date, dict[str, int]] = {first_day + timedelta(days=i): {} for i in range(days)}
        for index, status, count in rows:
            out[first_day + timedelta(days=index)][status] = count
        return out

    # -- references ---------------------------------------------------------------------------
    def references(
        self,
        integration_id: int,
        *,
        entity_type: str | None = None,
        search: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[Reference]:
        _check_length(search, "The search text")
        q = select(Reference).where(
            col(Reference.id).in_(
                _any_of(Reference, integration_id, ("source_id", "target_id", "source_label"), search)
            )
            if search
            else Reference.integration_id == integration_id
        )
        if entity_type:
            q = q.where(Reference.entity_type == entity_type)
        if before_id:
            q = q.where(Reference.id < before_id)
        with self.session() as s:
            return list(s.exec(q.order_by(col(Reference.id).desc()).limit(limit)))

    def add_reference(
        self, integration_id: int, entity_type: str, source_id: str, target_id: str, label: str | None = None
    ) -> Reference:
        source_id, target_id = source_id.strip(), target_id.strip()
        if not source_id or not target_id:
            raise EngineError("BAD_INPUT", "A reference needs both a source id and a target id")
        with self.session() as s:
            clash = s.exec(
                select(Reference).where(
                    Reference.integration_id == integration_id,
                    Reference.entity_type == entity_type,
                    Reference.source_id == source_id,
                )
            ).first()
            if clash is not None:
                raise EngineError(
                    "REFERENCE_EXISTS",
                    f"{entity_type} {source_id} is already linked to {clash.target_id}: edit it",
                )
            ref = Reference(
                integration_id=integration_id,
                entity_type=entity_type,
                source_id=source_id,
                target_id=target_id,
                source_label=label,
                origin="manual",
            )
            s.add(ref)
            s.commit()
            return ref

    def edit_reference(self, reference_id: int, target_id: str) -> Reference:
        if not target_id.strip():
            raise EngineError("BAD_INPUT", "The target id cannot be empty")
        with self.session() as s:
            ref = s.get(Reference, reference_id)
            if ref is None:
                raise EngineError("NO_REFERENCE", f"No reference {reference_id}")
            ref.target_id, ref.origin, ref.updated_at = target_id.strip(), "manual", utcnow()
            s.add(ref)
            s.commit()
            return ref

    def delete_reference(self, reference_id: int) -> Reference:
        """Removes only the link: the next sync of that source record creates a NEW target record."""
        with self.session() as s:
            ref = s.get(Reference, reference_id)
            if ref is None:
                raise EngineError("NO_REFERENCE", f"No reference {reference_id}")
            s.delete(ref)
            s.commit()
            return ref

    # -- time history -------------------------------------------------------------------------
    def time_history_flows(self, integration_id: int) -> list[Flow]:
        """The flows that load by Time History (payouts read all since the exclusion date)."""
        return [f for f in self.flows(integration_id) if flows_mod.uses_time_history(f.key)]

    def time_history(self, flow_id: int) -> TimeHistory:
        return th.get(self.db, flow_id)

    def time_windows(self, flow_id: int, limit: int = 50) -> list[Any]:
        return th.windows(self.db, flow_id, limit)

    async def reprocess_estimate(self, flow: Flow, to: datetime) -> int:
        """How many source records the next run would load if last loaded moved to `to`."""
        with self.session() as s:
            conf = settings_mod.load(s, flow.integration_id)
            conns = {
                c.side: c
                for c in s.exec(select(Connector).where(Connector.integration_id == flow.integration_id))
            }
        floor = th.exclusion_start(conf.order.exclusion_date)
        start = max(to, floor) if floor else to
        client = self.pool.get(conns[flow.source_side])
        return await client.count_orders(updated_at_min=start, status="any")

    def set_time_history(self, flow: Flow, to: datetime) -> int:
        if to.tzinfo is None:
            to = to.replace(tzinfo=UTC)
        dates.check(to.astimezone(UTC).date(), "Time History")
        if to > utcnow():
            raise EngineError("BAD_INPUT", "Time History cannot move into the future")
        return th.move_back(self.db, flow.id, to)  # type: ignore[arg-type]

    # -- settings -----------------------------------------------------------------------------
    def settings(self, integration_id: int) -> settings_mod.IntegrationSettings:
        with self.session() as s:
            return settings_mod.load(s, integration_id)

    def save_settings(self, integration_id: int, category: str, values: dict[str, Any]) -> Any:
        with self.session() as s:
            return settings_mod.save_category(s, integration_id, category, values)

    def import_oss_mapping(self, integration_id: int, text: str) -> Any:
        """Import CSV on Sales Account mapping & OSS VAT: the file replaces the whole OSS mapping, or
        (any bad line) nothing changes and OssCsvError names every bad line."""
        return self.save_settings(integration_id, "sales_accounts", oss_csv.parse(text))

    def export_oss_mapping(self, integration_id: int) -> str:
        return oss_csv.export(self.settings(integration_id).sales_accounts)

    def missing_settings(self, integration_id: int) -> list[tuple[str, str, str]]:
        with self.session() as s:
            return settings_mod.missing_required(s, integration_id)

    async def lookup(self, integration_id: int, source: str) -> list[dict[str, Any]]:
        """Dropdown values for a settings field ("fortnox:termsofpayments"), cached per connector."""
        platform, kind = source.split(":", 1)
        conn = next((c for c in self.connectors(integration_id) if c.platform == platform), None)
        if conn is None:
            raise EngineError("NO_CONNECTOR", f"No {platform} connector in this integration")
        with self.session() as s:
            cached = s.exec(
                select(LookupCache).where(LookupCache.connector_id == conn.id, LookupCache.kind == kind)
            ).first()
            if cached is not None:
                return cached.values
        values = await self.pool.get(conn).lookup(kind)
        with self.session() as s:
            s.add(LookupCache(connector_id=conn.id, kind=kind, values=values))  # type: ignore[arg-type]
            s.commit()
        return values

    def clear_cache(self, integration_id: int) -> int:
        ids = [c.id for c in self.connectors(integration_id)]
        with self.session() as s:
            rows = list(s.exec(select(LookupCache).where(col(LookupCache.connector_id).in_(ids))))
            for row in rows:
                s.delete(row)
            s.commit()
            return len(rows)

    # -- filters ------------------------------------------------------------------------------
    def filters(self, flow_id: int) -> list[FlowFilter]:
        with self.session() as s:
            return list(
                s.exec(select(FlowFilter).where(FlowFilter.flow_id == flow_id).order_by(FlowFilter.id))
            )

    def missing_recommended_filters(self, flow_id: int) -> list[str]:
        have = {f.preset for f in self.filters(flow_id) if f.kind == "preset"}
        return [p.name for p in filters_mod.PRESETS.values() if p.recommended and p.key not in have]

    def save_filter(
        self,
        flow_id: int,
        name: str,
        conditions: list[dict[str, Any]],
        *,
        match: str = "all",
        preset: str | None = None,
        filter_id: int | None = None,
    ) -> FlowFilter:
        if not name.strip():
            raise EngineError("BAD_INPUT", "A filter needs a name")
        if match not in ("all", "one"):
            raise EngineError("BAD_INPUT", "Match must be 'all' or 'one'")
        if preset is not None and preset not in filters_mod.PRESETS:
            raise EngineError("BAD_INPUT", f"Unknown preset {preset!r}")
        try:
            conditions = filters_mod.validate_conditions(conditions)
        except filters_mod.FilterError as exc:
            raise EngineError("BAD_INPUT", str(exc)) from exc
        with self.session() as s:
            row = s.get(FlowFilter, filter_id) if filter_id else FlowFilter(flow_id=flow_id, name=name)
            if row is None:
                raise EngineError("NO_FILTER", f"No filter {filter_id}")
            row.name, row.match, row.conditions = name.strip(), match, conditions
            row.kind, row.preset = ("preset", preset) if preset else ("custom", None)
            s.add(row)
            s.commit()
            return row

    def delete_filter(self, filter_id: int) -> None:
        with self.session() as s:
            row = s.get(FlowFilter, filter_id)
            if row is not None:
                s.delete(row)
                s.commit()

    # -- explain ------------------------------------------------------------------------------
    async def explain(self, integration_id: int, ref: str) -> Explanation:
        """Why a source record is (or is not) in the target."""
        _check_length(ref, "The reference")
        ref = ref.strip()
        variants = _ref_variants(ref)
        with self.session() as s:
            entity = s.exec(
                select(Entity)
                .where(
                    Entity.integration_id == integration_id,
                    or_(
                        col(Entity.retriever_reference).in_(variants),
                        col(Entity.source_id).in_(variants),
                        col(Entity.storer_reference).in_(variants),
                    ),
                )
                .order_by(col(Entity.entity_type) != "order", col(Entity.id))
            ).first()
        exp = Explanation(ref=ref, verdict="", summary="")
        if entity is not None:
            exp.ref = entity.retriever_reference
            exp.entity = entity
            exp.references = self.references(integration_id, search=entity.source_id)
            if entity.status == EntityStatus.SYNCED:
                exp.verdict = "SYNCED"
                what = TARGET_NOUNS.get(entity.entity_type, entity.entity_type)
                exp.summary = (
                    f"{entity.retriever_reference} is synced as Fortnox {what} {entity.storer_reference}"
                    if entity.storer_reference
                    else f"{entity.retriever_reference} is synced: nothing in Fortnox to make for it"
                )
            elif entity.status == EntityStatus.ERROR:
                exp.verdict = "ERROR"
                exp.summary = (
                    f"{entity.retriever_reference} failed with {entity.error_code}: {entity.error_message}"
                )
            else:
                exp.verdict = "PENDING"
                exp.summary = f"{entity.retriever_reference} is queued or being synced right now"
        exp.logs = self.logs(integration_id, ref=entity.retriever_reference if entity else ref, limit=20)
        task_ids = {log.task_id for log in exp.logs if log.task_id}
        with self.session() as s:
            exp.tasks = list(
                s.exec(select(Task).where(col(Task.id).in_(task_ids)).order_by(col(Task.id).desc()))
            )
        if entity is not None:
            if entity.entity_type == "order" and (paid := self._paid_by(integration_id, exp.ref)):
                exp.summary += f"; {paid}"
                exp.details.append(paid)
            return exp
        # Not an entity: ask the source and replay the decisions the flow would make.
        flows = [f for f in self.flows(integration_id) if f.entity_type == "order"]
        if not flows:
            exp.verdict, exp.summary = "NOT_IN_SOURCE", f"No flow handles {ref}"
            return exp
        flow = flows[0]
        with self.session() as s:
            conf = settings_mod.load(s, integration_id)
            conns = {
                c.side: c for c in s.exec(select(Connector).where(Connector.integration_id == integration_id))
            }
        source = self.pool.get(conns[flow.source_side])
        refund = split_reference(ref)
        if refund is not None and (order := await source.find_order(refund[0])) is not None:
            refunds = order.get("refunds") or []
            name = order.get("name") or refund[0]
            if refund[1] > len(refunds):
                exp.verdict = "NOT_IN_SOURCE"
                exp.summary = f"Shopify order {name} has {len(refunds)} refund(s), so no refund {ref}"
            else:
                exp.verdict = "NOT_YET_LOADED"
                exp.summary = (
                    f"{ref} (Shopify refund {refunds[refund[1] - 1].get('id')}) is not credited yet: it is "
                    f"credited with its order {name} at the next sync, or use Export One {name}"
                )
            return exp
        record = await source.find_order(ref)
        if record is None:
            exp.verdict = "NOT_IN_SOURCE"
            exp.summary = f"{ref} was never seen in Shopify: no order has that name, number or id"
            return exp
        label = exp.ref = record.get("name") or ref
        created = parse_time(record.get("created_at"))
        updated = parse_time(record.get("updated_at"))
        exclusion = conf.order.exclusion_date
        if exclusion and created and created.date() < exclusion:
            exp.verdict = "EXCLUDED"
            exp.summary = f"{label} was created {created.date()}, before the order exclusion date {exclusion}"
            return exp
        verdict = filters_mod.evaluate(self.filters(flow.id), record)
        if not verdict.kept:
            exp.verdict = "FILTERED"
            exp.summary = f"{label} is {verdict.reason}"
            return exp
        hist = th.get(self.db, flow.id)
        # Shopify's updated_at has whole seconds: one from the second Time History ends in may lie
        # after it, and the next run's window still takes it.
        if hist.last_loaded is None or (updated and updated >= hist.last_loaded.replace(microsecond=0)):
            when = f"{hist.last_loaded:%Y-%m-%d %H:%M} UTC" if hist.last_loaded else "never"
            exp.verdict = "NOT_YET_LOADED"
            exp.summary = (
                f"{label} (updated {updated:%Y-%m-%d %H:%M}) is newer than Time History's "
                f"last loaded ({when}): "
                "the next run picks it up, or use Export One"
            )
            return exp
        exp.verdict = "NOT_SYNCED"
        exp.summary = (
            f"{label} lies inside a loaded window but was never stored (a connectivity gap?): run Export One"
        )
        return exp

    def _paid_by(self, integration_id: int, order_ref: str) -> str | None:
        """How the order's invoice was paid by a payout ("paid by payout po_… on DATE"), or why not
        yet; None when no payouts flow runs."""
        if not any(f.entity_type == "payout" and f.enabled for f in self.flows(integration_id)):
            return None
        with self.session() as s:
            line = s.exec(
                select(Entity)
                .where(
                    Entity.integration_id == integration_id,
                    Entity.entity_type == "payout_line",
                    col(Entity.retriever_reference).endswith(f" charge {order_ref}", autoescape=True),
                )
                .order_by(col(Entity.id).desc())
            ).first()
        if line is None:
            return f"{order_ref} is in no payout read so far: its invoice stays unpaid until one pays it"
        payout = line.retriever_reference.split(" ", 1)[0]
        if line.status != EntityStatus.SYNCED:
            return f"its line in payout {payout} is not booked: {line.error_code}: {line.error_message}"
        day = json.loads(line.raw_target or "{}").get("PaymentDate", "?")
        return f"paid by payout {payout} on {day} (Fortnox payment {line.storer_reference})"

    # -- asked of the platforms by the console's dialogs ----------------------------------------
    def _side_connector(self, integration_id: int, side: str) -> Connector:
        with self.session() as s:
            conn = s.exec(
                select(Connector).where(Connector.integration_id == integration_id, Connector.side == side)
            ).first()
        if conn is None:
            raise EngineError("NO_CONNECTOR", f"The integration has no connector on side {side}")
        return conn

    async def recent_source_records(
        self, flow: Flow, limit: int = 200
    ) -> tuple[list[dict[str, Any]], datetime]:
        """The newest `limit` orders the source platform has now (filtered or not), and since when
        they were read: the filter preview's sample. Stored records would leave out exactly the ones
        a filter dropped. The window widens (a day, a week, 30, 60 days) until it holds `limit`,
        so a busy shop is read one day back, not page by page through its history."""
        if flow.entity_type != "order":
            raise EngineError("NO_PREVIEW", f"Filters of {flow.name} cannot be tried on the source yet")
        client = self.pool.get(self._side_connector(flow.integration_id, flow.source_side))
        now = utcnow()
        for days in (1, 7, 30, 60):
            since = now - timedelta(days=days)
            if await client.count_orders(created_at_min=since, status="any") >= limit:
                break
        records: list[dict[str, Any]] = []
        async for page in client.iter_order_pages(created_at_min=since, status="any"):
            records.extend(page)
        records.sort(key=lambda r: (str(r.get("created_at") or ""), r.get("id") or 0), reverse=True)
        return records[:limit], since

    async def check_target_record(self, integration_id: int, entity_type: str, target_id: str) -> None:
        """Raise unless the target platform has a record `target_id` of `entity_type`: a reference
        typed by hand must point at something that exists, or the next sync updates nothing."""
        target_id = target_id.strip()
        if not target_id:
            raise EngineError("BAD_INPUT", "The target id cannot be empty")
        flows = self.flows(integration_id)
        if not flows:
            raise EngineError("NO_FLOW", "The integration has no flow, so no target platform")
        conn = self._side_connector(integration_id, flows[0].target_side)
        name = conn.platform.title()
        client = self.pool.get(conn)
        getter = {
            "order": "get_order",
            "invoice": "get_invoice",
            "refund": "get_invoice",  # the credit invoice that credits it
            "invoice_payment": "get_invoice_payment",  # the payment of an order paid at checkout
            "customer": "get_customer",
            "article": "get_article",
        }.get(entity_type)
        if getter is None or not hasattr(client, getter):
            raise EngineError(
                "TARGET_NOT_CHECKABLE",
                f"{name} {entity_type} records cannot be looked up, so this reference cannot be checked",
            )
        try:
            found = await getattr(client, getter)(target_id)
        except PlatformError as err:
            if err.code == "NOT_FOUND" or err.status == 404:
                found = None
            else:
                raise EngineError(
                    "TARGET_UNREACHABLE",
                    f"Could not ask {name} whether {entity_type} {target_id} exists ({err.code}: "
                    f"{err.message}); nothing was saved, try again when {name} answers",
                ) from err
        if not found:
            raise EngineError(
                "TARGET_NOT_FOUND", f"{name} has no {entity_type} {target_id}: check the number"
            )


def _entity_conditions(
    integration_id: int, entity_type: str | None, status: str | None, ref: str | None
) -> list[Any]:
    # A reference search restricts by id (its subquery holds the integration); repeating the
    # integration here would make SQLite walk the integration's rows instead.
    ref_columns = ("retriever_reference", "storer_reference", "source_id")
    conditions = [
        col(Entity.id).in_(_any_of(Entity, integration_id, ref_columns, ref))
        if ref
        else Entity.integration_id == integration_id
    ]
    if entity_type:
        conditions.append(Entity.entity_type == entity_type)
    if status:
        conditions.append(Entity.status == status)
    return conditions


def _any_of(model: Any, integration_id: int, columns: tuple[str, ...], ref: str) -> Any:
    """Ids of rows where any of `columns` holds a variant of `ref`: a UNION of one indexed lookup per
    column, where an OR would let SQLite walk a whole table (bench/console.py measured seconds)."""
    variants = _ref_variants(ref)
    return union(
        *(
            select(model.id).where(model.integration_id == integration_id, getattr(model, c).in_(variants))
            for c in columns
        )
    )


# The longest reference or search text taken: order names, Shopify ids and Fortnox numbers are far
# shorter, and a longer text would only travel into platform query strings and LIKE patterns.
MAX_REF = 255


def _check_length(text: str | None, what: str) -> None:
    if text is not None and len(text) > MAX_REF:
        raise EngineError(
            "BAD_INPUT",
            f"{what} is {len(text):,} characters long; a reference is at most {MAX_REF} "
            "(an order name like #1001, a Shopify id or a Fortnox number)",
        )


def _ref_variants(ref: str) -> list[str]:
    ref = ref.strip()
    bare = ref.lstrip("#")
    return list(dict.fromkeys([ref, bare, f"#{bare}"]))


def operator_error(exc: BaseException, db_url: str | None = None) -> EngineError | None:
    """The coded error for an exception the operator can act on: a platform's answer, a database that
    went away, was locked too long, or refused a statement; None for anything else, which is a bug."""
    if isinstance(exc, PlatformError):
        return EngineError(exc.code, exc.message)
    if isinstance(exc, dbmod.DATABASE_ERRORS):
        return dbmod.database_error(exc, db_url or dbmod.default_url())
    return None


def upgrade_database(db_url: str | None = None) -> tuple[str | None, str]:
    """`junipeer db upgrade`: bring the database's schema to this program's; (revision before, after).
    Before is None when the database was empty."""
    db = dbmod.make_engine(db_url or dbmod.default_url())
    try:
        before = dbmod.schema(db).current
        dbmod.prepare(db, upgrade=True)
        return before, dbmod.schema(db).head
    finally:
        db.dispose()


def _required_secrets(conn: Connector) -> tuple[str, ...]:
    """The secret values a connector's client cannot work without."""
    opts = conn.options or {}
    if conn.platform == "shopify":
        return ("client_secret",) if opts.get("auth") == "client_credentials" else ("access_token",)
    if conn.platform == "fortnox":
        return ("client_secret",) if opts.get("tenant_id") else ("client_secret", "refresh_token")
    if conn.platform == "stripe":
        return ("api_key",)
    return ()


async def run_headless(
    service: Service,
    *,
    until_idle: bool = False,
    say: Callable[[str], None] | None = None,
    **runner_kwargs: Any,
) -> Runner:
    """`junipeer run`: scheduler + worker until SIGINT/SIGTERM (the records in hand are finished; a
    second signal stops at once), or, with `until_idle`, until every enabled flow has caught up and
    nothing is left to do by itself. Returns the runner: `stopping` tells whether a signal ended it."""
    from engine.runtime.scheduler import Scheduler

    runner = service.runner(**runner_kwargs)
    scheduler = None
    if until_idle:
        for integ in service.integrations():
            for flow in service.flows(integ.id):  # type: ignore[arg-type]
                if flow.enabled:
                    service.sync(flow)
    else:
        scheduler = Scheduler(service, on_enqueue=runner.notify, clients=runner.pool)
        scheduler.start()
    try:
        with runner.stopped_by_signals(say):
            await runner.run(until_idle=until_idle)
    finally:
        if scheduler is not None:
            scheduler.shutdown()
    return runner
