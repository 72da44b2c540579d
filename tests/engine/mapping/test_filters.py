from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.mapping.filters import FilterError, evaluate, validate_conditions

ORDER = {
    "financial_status": "pending",
    "currency": "EUR",
    "shipping_address": {"country_code": "de"},
    "billing_address": {"country_code": "SE"},
    "payment_gateway_names": ["klarna"],
}


def f(name: str, conditions: list[dict], match: str = "all", enabled: bool = True) -> SimpleNamespace:
    return SimpleNamespace(
        name=name, conditions=validate_conditions(conditions), match=match, enabled=enabled
    )


def test_status_preset_excludes_pending_and_names_itself() -> None:
    flt = f(
        "Filter by Status", [{"field": "order.financial_status", "operator": "one_of", "value": ["paid"]}]
    )
    verdict = evaluate([flt], ORDER)
    assert not verdict.kept
    assert verdict.filter_name == "Filter by Status"
    assert "Order > Status is one of paid" in verdict.reason and "'pending'" in verdict.reason


def test_all_versus_one_must_match() -> None:
    conds = [
        {"field": "order.delivery_country", "operator": "equals", "value": "DE"},
        {"field": "order.currency", "operator": "equals", "value": "SEK"},
    ]
    assert not evaluate([f("both", conds, "all")], ORDER).kept
    assert evaluate([f("either", conds, "one")], ORDER).kept


def test_operators_are_case_insensitive_and_lists_parse_from_text() -> None:
    assert evaluate(
        [f("x", [{"field": "order.delivery_country", "operator": "one_of", "value": "se, de"}])], ORDER
    ).kept
    assert not evaluate(
        [f("x", [{"field": "order.gateway", "operator": "not_one_of", "value": ["Klarna", "paypal"]}])], ORDER
    ).kept
    assert evaluate(
        [f("x", [{"field": "order.currency", "operator": "not_equals", "value": "usd"}])], ORDER
    ).kept


def test_disabled_filters_do_not_apply() -> None:
    flt = f("off", [{"field": "order.currency", "operator": "equals", "value": "SEK"}], enabled=False)
    assert evaluate([flt], ORDER).kept


@pytest.mark.parametrize(
    "bad",
    [
        [{"field": "order.nope", "operator": "equals", "value": "x"}],
        [{"field": "order.currency", "operator": "like", "value": "x"}],
        [{"field": "order.currency", "operator": "one_of", "value": []}],
        [{"field": "order.currency", "operator": "equals", "value": ""}],
        [],
    ],
)
def test_bad_conditions_are_refused_with_a_reason(bad: list[dict]) -> None:
    with pytest.raises(FilterError) as info:
        validate_conditions(bad)
    assert str(info.value)
