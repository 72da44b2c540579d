"""Configure-side facade calls: General and Scheduling refuse bad input with a clear message."""

from __future__ import annotations

import pytest

from engine.errors import EngineError
from engine.service import Service
from tests.conftest import add_shop


@pytest.fixture
def service(db_url: str, secrets, tmp_path) -> Service:
    svc = Service(db_url, secrets=secrets, data_dir=tmp_path)
    add_shop(svc.db, "Shop", "Other")
    return svc


def test_general_rename_and_modes(service: Service) -> None:
    integ = service.update_integration(1, name=" Webshop ", live_mode=True, onboarding_mode=False)
    assert (integ.name, integ.live_mode, integ.onboarding_mode) == ("Webshop", True, False)
    with pytest.raises(EngineError, match="already named"):
        service.update_integration(1, name="Other")
    with pytest.raises(EngineError, match="needs a name"):
        service.update_integration(1, name="  ")


def test_schedule_rules_add_edit_delete_and_validation(service: Service) -> None:
    rule = service.save_schedule_rule(
        1,
        name="Nightly",
        flow_keys=["orders_to_fortnox"],
        interval_minutes=60,
        active_from="22:00",
        active_to="06:00",
    )
    edited = service.save_schedule_rule(
        1,
        name="Nightly",
        flow_keys=["orders_to_fortnox"],
        interval_minutes=30,
        enabled=False,
        rule_id=rule.id,
    )
    assert [(r.interval_minutes, r.enabled, r.active_from) for r in service.schedule_rules(1)] == [
        (30, False, None)
    ]
    assert edited.id == rule.id
    for bad in (
        {"flow_keys": ["nope"], "interval_minutes": 5},
        {"flow_keys": ["orders_to_fortnox"], "interval_minutes": 0},
        {
            "flow_keys": ["orders_to_fortnox"],
            "interval_minutes": 5,
            "active_from": "25:99",
            "active_to": "06:00",
        },
        {"flow_keys": ["orders_to_fortnox"], "interval_minutes": 5, "active_from": "06:00"},
    ):
        with pytest.raises(EngineError):
            service.save_schedule_rule(1, name="x", **bad)
    service.delete_schedule_rule(rule.id)
    assert service.schedule_rules(1) == []
