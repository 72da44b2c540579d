"""Intent before effect, checked at the moment of each create: when the order flow sends a
non-idempotent create to Fortnox, another connection (a worker restarted after a crash) already sees
the store intent (and, before the invoice, the order's reference), whether the recorder ran its
statements inline or on its writer thread, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from engine.flows import orders_to_fortnox as flow
from engine.flows.base import FlowContext, Outcome
from engine.mapping.settings import IntegrationSettings
from engine.runtime.records import Recorder
from engine.store.db import make_engine
from engine.store.models import Entity, EntityTransaction, LogEntry, Reference

ORDER = {
    "id": 5100000017,
    "name": "#1001",
    "created_at": "2026-10-26T07:10:53+01:00",
    "updated_at": "2026-10-27T01:21:21+01:00",
    "financial_status": "paid",
    "currency": "SEK",
    "email": "emily@example.com",
    "token": "a-secret-checkout-token",
    "customer": {"id": 7700000001, "email": "emily@example.com", "first_name": "Emily"},
    "billing_address": {"first_name": "Emily", "last_name": "Miller", "country_code": "SE"},
    "line_items": [{"sku": "MUG-1", "title": "Mug", "quantity": 2, "price": "99.00", "tax_lines": []}],
    "total_price": "198.00",
}


class CheckingFortnox:
    """A Fortnox that looks at the database, from a connection of its own, when a create arrives."""

    def __init__(self, url: str) -> None:
        self.view = make_engine(url)
        self.seen: list[str] = []

    def committed(self, source_id: str = str(ORDER["id"])) -> tuple[Entity, list[Reference]]:
        with Session(self.view) as s:
            entity = s.exec(select(Entity).where(Entity.source_id == source_id)).one()
            return entity, list(s.exec(select(Reference)))

    async def find_customers_by_email(self, email: str) -> list[dict]:
        return []

    async def create_customer(self, customer: dict) -> dict:
        customer_entity, _ = self.committed(str(ORDER["customer"]["id"]))  # type: ignore[index]
        assert customer_entity.entity_type == "customer"
        assert customer_entity.store_intent == "create_customer" and customer_entity.lease_owner
        # What finds this customer again if the answer is lost: the Shopify customer id.
        assert customer["ExternalReference"] == str(ORDER["customer"]["id"])  # type: ignore[index]
        self.seen.append("customer")
        return {"CustomerNumber": "C1", **customer}

    async def create_order(self, order: dict) -> dict:
        entity, references = self.committed()
        assert entity.store_intent == "create_order" and entity.store_intent_at is not None
        assert entity.lease_owner.startswith("w1/")  # type: ignore[union-attr]
        # The customer made before it is on record too, so a retry does not make it again.
        assert [(r.entity_type, r.target_id) for r in references] == [("customer", "C1")]
        self.seen.append("order")
        return {"DocumentNumber": "100", "CustomerNumber": order["CustomerNumber"], "Total": 198.0}

    async def create_invoice_from_order(self, number: str) -> dict:
        entity, references = self.committed()
        assert entity.store_intent == "create_invoice" and entity.storer_reference == "100"
        assert ("order", "100") in [(r.entity_type, r.target_id) for r in references]
        self.seen.append("invoice")
        return {"DocumentNumber": "500"}

    async def bookkeep_invoice(self, number: str) -> dict:
        self.seen.append("booked")
        return {"DocumentNumber": number, "Booked": True}


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "writer thread"])
async def test_each_create_finds_its_intent_committed(db, inline: bool) -> None:
    target = CheckingFortnox(db.url.render_as_string(hide_password=False))
    rec = Recorder(db, 1, 1, task_id=None, worker_id="w1", inline=inline)
    ctx = FlowContext(recorder=rec, source=None, target=target, settings=IntegrationSettings(), filters=[])
    try:
        assert await flow.process(ctx, dict(ORDER)) == Outcome.SYNCED
    finally:
        rec.close()
        target.view.dispose()
    assert target.seen == ["customer", "order", "invoice", "booked"]
    with Session(db) as s:
        entity = s.exec(select(Entity).where(Entity.entity_type == "order")).one()
        assert (entity.status, entity.storer_reference, entity.store_intent, entity.lease_owner) == (
            "synced",
            "100",
            None,
            None,
        )
        assert json.loads(entity.raw_source or "{}")["token"] == "***"
        actions = [t.action for t in s.exec(select(EntityTransaction).order_by(EntityTransaction.id))]
        assert actions == ["created", "created", "invoiced", "booked"]  # customer's, then the order's
        assert [log.code for log in s.exec(select(LogEntry))] == ["ORDER_SYNCED"]
        kinds = sorted((r.entity_type, r.target_id) for r in s.exec(select(Reference)))
        assert kinds == [("customer", "C1"), ("invoice", "500"), ("order", "100")]
