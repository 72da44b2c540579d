"""The domain as tables: the names are the words the operator sees (see docs/ARCHITECTURE.md).

Secrets never live here: a Connector holds only a `credential_ref` naming an entry in the secret
store (keyring, or the file fallback on headless servers).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# The kinds of record the engine moves (Entity.entity_type, Reference.entity_type).
ENTITY_TYPES: tuple[str, ...] = (
    "order", "customer", "invoice", "article", "stock", "refund", "payout", "payout_line",
    "invoice_payment",
)  # fmt: skip


class EntityStatus(StrEnum):
    PENDING = "pending"
    SYNCED = "synced"
    ERROR = "error"


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"


class TaskTrigger(StrEnum):
    SCHEDULE = "schedule"
    WEBHOOK = "webhook"
    MANUAL = "manual"
    RETRY = "retry"


class LogLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Integration(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    onboarding_mode: bool = True
    live_mode: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Connector(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("integration_id", "side"),)
    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id", index=True)
    side: str  # "A" or "B"
    platform: str  # shopify | fortnox | stripe
    connection_name: str = "default"
    base_url: str
    # Non-secret connection facts (token URL, shop domain, client id, rate-limit time scale).
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    credential_ref: str  # key in the secret store, never the secret itself
    status: str = "disconnected"  # connected | disconnected
    checked_at: datetime | None = None


class Flow(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("integration_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id", index=True)
    key: str  # e.g. "orders_to_fortnox": names the flow module
    name: str  # "Orders", shown on the card
    action: str  # "Export orders to Fortnox"
    entity_type: str  # order | customer | article | stock | invoice | refund | payout
    source_side: str  # "A" or "B": the retriever's connector
    target_side: str
    enabled: bool = True
    manual_allowed: bool = True
    last_synced_at: datetime | None = None


class FlowFilter(SQLModel, table=True):
    """A built-in preset (kind="preset", preset=...) or a custom filter; conditions are
    [{"field": "order.delivery_country", "operator": "one_of", "value": [...]}]."""

    __tablename__ = "flow_filter"
    id: int | None = Field(default=None, primary_key=True)
    flow_id: int = Field(foreign_key="flow.id", index=True)
    name: str
    kind: str = "custom"  # preset | custom
    preset: str | None = None
    match: str = "all"  # all | one
    conditions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Setting(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("integration_id", "category", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id", index=True)
    category: str
    key: str
    value: Any = Field(default=None, sa_column=Column(JSON))
    saved_at: datetime | None = None


class LookupCache(SQLModel, table=True):
    """Dropdown values fetched from a platform (terms of payment, ways of delivery, ...)."""

    __tablename__ = "lookup_cache"
    __table_args__ = (UniqueConstraint("connector_id", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    connector_id: int = Field(foreign_key="connector.id", index=True)
    kind: str
    values: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fetched_at: datetime = Field(default_factory=utcnow)


# Screens page newest first by keyset on the primary key (ids grow with time), so the indexes they
# use end in `id`: a page is an index range, never a sort of the table (bench/console.py).


class Task(SQLModel, table=True):
    __table_args__ = (
        Index("ix_task_status_created", "status", "created_at"),
        Index("ix_task_integration_id", "integration_id", "id"),
        Index("ix_task_integration_created_id", "integration_id", "created_at", "id"),
        Index("ix_task_integration_status_id", "integration_id", "status", "id"),
        Index("ix_task_flow_id", "flow_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id")
    flow_id: int = Field(foreign_key="flow.id")
    kind: str  # export_one | export_many | sync (scheduled window) | retry
    trigger: str = TaskTrigger.MANUAL
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = TaskStatus.PENDING
    total: int = 0
    processed: int = 0
    synced: int = 0
    failed: int = 0
    skipped: int = 0
    message: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    attempts: int = 0
    retry_of: int | None = Field(default=None, foreign_key="task.id")
    # A task paused by a platform outage is not claimed again before this.
    not_before: datetime | None = None


class Entity(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("flow_id", "entity_type", "source_id"),
        Index("ix_entity_retriever", "integration_id", "retriever_reference"),
        Index("ix_entity_storer", "integration_id", "storer_reference"),
        Index("ix_entity_source", "integration_id", "source_id"),
        Index("ix_entity_type_status_id", "integration_id", "entity_type", "status", "id"),
        Index("ix_entity_type_id", "integration_id", "entity_type", "id"),
        Index("ix_entity_integration_id", "integration_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id")
    flow_id: int = Field(foreign_key="flow.id")
    entity_type: str
    status: str = EntityStatus.PENDING
    source_id: str  # the retriever platform's id (Shopify order id)
    retriever_reference: str  # what the operator types: "#1001"
    storer_reference: str | None = None  # Fortnox DocumentNumber
    children: int = 0
    # A refund's entity points at its order's: it is credited in the order's attempt, under its lease.
    parent_id: int | None = Field(default=None, index=True)
    source_updated_at: datetime | None = None
    last_updated: datetime = Field(default_factory=utcnow)
    error_code: str | None = None
    error_message: str | None = None
    raw_source: str | None = Field(default=None, sa_column=Column(Text))
    raw_target: str | None = Field(default=None, sa_column=Column(Text))
    # Exactly-once bookkeeping: which target write was begun and not yet confirmed.
    store_intent: str | None = None  # create_order | create_invoice | ...
    store_intent_at: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    # A transient failure (platform down, timeout, rate limit) is attempted again by itself at
    # `retry_at`, at most a few times (`auto_retries` counts them) before it needs a person.
    retry_at: datetime | None = Field(default=None, index=True)
    auto_retries: int = 0


class RateShare(SQLModel, table=True):
    """A process using a platform connection's rate budget now; those in use share it equally."""

    __tablename__ = "rate_share"
    budget_key: str = Field(primary_key=True)  # the connection whose budget is shared
    holder: str = Field(primary_key=True)  # one process's client pool
    seen_at: datetime = Field(default_factory=utcnow)
    busy: bool = True  # sent requests lately; an idle holder keeps only a small share


class EntityTransaction(SQLModel, table=True):
    """One row of an entity's timeline."""

    __tablename__ = "entity_transaction"
    __table_args__ = (Index("ix_entity_transaction_entity_at", "entity_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entity.id")
    task_id: int | None = Field(default=None, foreign_key="task.id")
    at: datetime = Field(default_factory=utcnow)
    action: str  # created | updated | invoiced | booked | cancelled | adopted | warning | error
    status: str
    message: str = ""


class Reference(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("integration_id", "entity_type", "source_id"),
        Index("ix_reference_target", "integration_id", "entity_type", "target_id"),
        Index("ix_reference_type_id", "integration_id", "entity_type", "id"),
        Index("ix_reference_any_source", "integration_id", "source_id"),
        Index("ix_reference_any_target", "integration_id", "target_id"),
        Index("ix_reference_label", "integration_id", "source_label"),
    )
    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id")
    entity_type: str
    source_id: str
    source_label: str | None = None  # "#1001" next to the Shopify id
    target_id: str
    origin: str = "sync"  # sync | manual
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class LogEntry(SQLModel, table=True):
    __tablename__ = "log_entry"
    __table_args__ = (
        Index("ix_log_integration_id", "integration_id", "id"),
        Index("ix_log_reference_id", "integration_id", "reference", "id"),
        Index("ix_log_level_id", "integration_id", "level", "id"),
        Index("ix_log_task", "task_id"),
        Index("ix_log_flow_id", "flow_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id")
    at: datetime = Field(default_factory=utcnow)
    level: str = LogLevel.INFO
    code: str | None = None
    message: str
    flow_id: int | None = Field(default=None, foreign_key="flow.id")
    task_id: int | None = Field(default=None, foreign_key="task.id")
    reference: str | None = None


class TimeHistory(SQLModel, table=True):
    __tablename__ = "time_history"
    id: int | None = Field(default=None, primary_key=True)
    flow_id: int = Field(foreign_key="flow.id", unique=True)
    last_loaded: datetime | None = None
    lookback_seconds: int = 300
    updated_at: datetime = Field(default_factory=utcnow)


class TimeWindow(SQLModel, table=True):
    """A completed load window (start, end]; kept so an interrupted backfill resumes its gaps."""

    __tablename__ = "time_window"
    __table_args__ = (Index("ix_time_window_flow_start", "flow_id", "start"),)
    id: int | None = Field(default=None, primary_key=True)
    flow_id: int = Field(foreign_key="flow.id")
    task_id: int | None = Field(default=None, foreign_key="task.id")
    start: datetime
    end: datetime
    records: int = 0
    completed_at: datetime = Field(default_factory=utcnow)


class ScheduleRule(SQLModel, table=True):
    __tablename__ = "schedule_rule"
    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id", index=True)
    name: str
    flow_keys: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    interval_minutes: int = 15
    active_from: str | None = None  # "06:00"; None = all day
    active_to: str | None = None
    enabled: bool = True


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscription"
    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id", index=True)
    connector_id: int = Field(foreign_key="connector.id")
    topic: str  # orders/create, payout.paid, ...
    receiving_url: str
    external_id: str | None = None
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    """Seen delivery ids, so a redelivered webhook is processed once."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("subscription_id", "delivery_id"),)
    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id")
    delivery_id: str
    received_at: datetime = Field(default_factory=utcnow)
