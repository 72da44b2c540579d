"""Get Started: the steps from an empty workspace to a Live integration, in the order the help
centre walks them (name, shop, ERP, required settings, flows, one test order, Live).

Where an operator stands is read from the database every time, never remembered: a step left half
way (or done from the command line) shows as it is when the console opens again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.store.models import EntityStatus

if TYPE_CHECKING:
    from engine.service import Service

# (key, title): the wizard's order.
STEPS: list[tuple[str, str]] = [
    ("name", "Integration name"),
    ("shop", "Connect the shop"),
    ("erp", "Connect the ERP"),
    ("settings", "Required settings"),
    ("flows", "Choose the flows"),
    ("try", "Try one order"),
    ("live", "Go Live"),
]
TITLES = dict(STEPS)
# Short names for the Dashboard's one-line checklist.
SHORT = {
    "name": "Name",
    "shop": "Shop",
    "erp": "ERP",
    "settings": "Settings",
    "flows": "Flows",
    "try": "Test order",
    "live": "Live",
}


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    detail: str  # what stands now: "Connected to …", "Order Settings › … not saved", …


def connection_reason(status: str, message: str) -> str:
    """Why a connector is what its badge says, from the message its last test kept: the text after
    "Disconnected: " (an expired or revoked grant, a missing scope), or what a connected one read."""
    text = (message or "").strip()
    if status == "connected":
        return text
    if text.startswith("Disconnected"):
        return text.removeprefix("Disconnected").lstrip(":( ").rstrip(")") or "not tested yet"
    # A message from before the credentials changed says nothing about the new ones.
    return "not tested since its credentials changed: Test connection"


def steps(service: Service, integration_id: int | None) -> list[Step]:
    """Every step with whether it is done, for the integration (None: none created yet)."""
    if integration_id is None:
        return [Step(key, title, False, "") for key, title in STEPS]
    integ = service.integration(integration_id)
    conns = {c.platform: c for c in service.connectors(integration_id)}
    out = [Step("name", TITLES["name"], True, integ.name)]
    for key, platform, name in (("shop", "shopify", "Shopify"), ("erp", "fortnox", "Fortnox")):
        conn = conns.get(platform)
        if conn is None:
            out.append(Step(key, TITLES[key], False, f"{name} is not connected yet"))
            continue
        said = connection_reason(conn.status, str((conn.options or {}).get("status_message") or ""))
        ok = conn.status == "connected"
        out.append(Step(key, TITLES[key], ok, said if ok else f"{name} is disconnected: {said}"))
    missing = service.missing_settings(integration_id)
    out.append(
        Step(
            "settings",
            TITLES["settings"],
            not missing,
            "; ".join(label for _cat, _name, label in missing) + " not saved"
            if missing
            else "Every required setting is saved",
        )
    )
    flows = service.flows(integration_id)
    enabled = [f.name for f in flows if f.enabled]
    out.append(
        Step(
            "flows",
            TITLES["flows"],
            bool(enabled),
            f"Enabled: {', '.join(enabled)}" if enabled else "No flow is enabled",
        )
    )
    # A record a flow moves (an order), not one it made on the way (the order's customer).
    synced = [
        e
        for etype in dict.fromkeys(f.entity_type for f in flows)
        for e in service.entities(integration_id, entity_type=etype, status=EntityStatus.SYNCED, limit=1)
    ][:1]
    out.append(
        Step(
            "try",
            TITLES["try"],
            bool(synced),
            f"{synced[0].retriever_reference} synced as {synced[0].storer_reference or '—'}"
            if synced
            else "No record synced yet",
        )
    )
    out.append(Step("live", TITLES["live"], integ.live_mode, "Live" if integ.live_mode else "In onboarding"))
    return out


def next_step(done: list[Step]) -> Step | None:
    """The first step not done; None once the integration is Live with every step behind it."""
    return next((s for s in done if not s.done), None)
