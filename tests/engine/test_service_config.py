"""Configure-side facade calls: General and Scheduling refuse bad input with a clear message."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from engine.errors import EngineError
from engine.mapping.settings import SettingsError
from engine.service import Service
from engine.store.models import Setting
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


@pytest.mark.parametrize("day", ["2005-12-31", "1970-01-01", "2999-01-01"])
def test_an_exclusion_date_out_of_bounds_is_bad_input_on_its_field(service: Service, day: str) -> None:
    with pytest.raises(SettingsError) as info:
        service.save_settings(1, "order", {"exclusion_date": day})
    assert info.value.code == "BAD_INPUT"
    assert "from 2006-01-01" in info.value.errors["exclusion_date"]
    assert service.settings(1).order.exclusion_date is None  # nothing saved


def test_an_exclusion_date_saved_before_the_bounds_still_loads(service: Service) -> None:
    service.save_settings(1, "order", {"exclusion_date": "2006-01-01"})
    with service.session() as s:
        s.execute(update(Setting).where(Setting.key == "exclusion_date").values(value="1999-05-01"))
        s.commit()
    assert service.settings(1).order.exclusion_date == date(1999, 5, 1)


def test_export_many_and_time_history_refuse_days_out_of_bounds(service: Service) -> None:
    flow = service.flows(1)[0]
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    service.export_many(flow, date(2006, 1, 1), tomorrow)  # the bounds themselves are fine
    for start, end in ((date(2005, 12, 31), tomorrow), (date(2026, 1, 1), tomorrow + timedelta(days=1))):
        with pytest.raises(EngineError, match="out of range") as info:
            service.export_many(flow, start, end)
        assert info.value.code == "BAD_INPUT"
    with pytest.raises(EngineError, match="2001-01-01 is out of range for Time History"):
        service.set_time_history(flow, datetime(2001, 1, 1, tzinfo=UTC))
