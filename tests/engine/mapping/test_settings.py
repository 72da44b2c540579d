from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from engine.mapping import settings
from engine.store.db import make_engine, migrate
from engine.store.models import Integration


@pytest.fixture
def session(db_url: str):
    engine = make_engine(db_url)
    migrate(engine)
    with Session(engine) as s:
        s.add(Integration(name="i"))
        s.commit()
        yield s


def test_exclusion_date_is_required_until_saved(session: Session) -> None:
    missing = settings.missing_required(session, 1)
    assert ("order", "exclusion_date", "Order Settings › Exclude orders created before this date") in missing
    settings.save_category(session, 1, "order", {"exclusion_date": "2026-01-01"})
    assert settings.missing_required(session, 1) == []
    assert settings.load(session, 1).order.exclusion_date == date(2026, 1, 1)


def test_saving_a_required_field_empty_is_refused(session: Session) -> None:
    with pytest.raises(settings.SettingsError) as info:
        settings.save_category(session, 1, "order", {"exclusion_date": None})
    assert info.value.errors == {"exclusion_date": "This setting is required and must be saved."}


def test_bad_values_and_unknown_keys_are_refused(session: Session) -> None:
    with pytest.raises(settings.SettingsError) as info:
        settings.save_category(session, 1, "order", {"exclusion_date": "not a date"})
    assert "exclusion_date" in info.value.errors
    with pytest.raises(settings.SettingsError):
        settings.save_category(session, 1, "order", {"colour": "red"})
    with pytest.raises(settings.SettingsError):
        settings.save_category(session, 1, "nope", {})


def test_categories_save_independently(session: Session) -> None:
    settings.save_category(session, 1, "payment", {"mapping": {"stripe": "K"}})
    settings.save_category(session, 1, "customer", {"default_name": "Webshop"})
    loaded = settings.load(session, 1)
    assert loaded.payment.mapping == {"stripe": "K"}
    assert loaded.customer.default_name == "Webshop"
    assert loaded.order.exclusion_date is None


def test_describe_carries_widgets_sources_and_additional_flags() -> None:
    cats = {c["key"]: c for c in settings.describe()}
    order_fields = {f["name"]: f for f in cats["order"]["fields"]}
    assert order_fields["exclusion_date"]["widget"] == "date" and order_fields["exclusion_date"]["required"]
    assert order_fields["use_presentment_currency"]["additional"]
    payment = {f["name"]: f for f in cats["payment"]["fields"]}
    assert payment["default_terms_of_payment"]["source"] == "fortnox:termsofpayments"


def test_invoices_marked_as_paid_must_be_booked(session: Session) -> None:
    saved = settings.save_category(session, 1, "invoice", {"paid_gateways": {" paypal ": "PP"}})
    assert saved.paid_gateways == {"paypal": "PP"}
    with pytest.raises(settings.SettingsError) as info:
        settings.save_category(session, 1, "invoice", {"bookkeep": False})
    assert "must be booked" in info.value.errors["invoice"]
    assert settings.load(session, 1).invoice.bookkeep is True
    fields = {f["name"]: f for f in next(c for c in settings.describe() if c["key"] == "invoice")["fields"]}
    assert (
        fields["paid_gateways"]["source"] == "fortnox:modesofpayments"
        and fields["paid_gateways"]["additional"]
    )
