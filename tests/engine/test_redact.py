"""Redaction of stored payloads: every credential-looking key is masked at any depth, the input is
never changed, and the JSON shortcut gives exactly what encoding the redacted copy gives."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from engine import jsontext
from engine.runtime.records import dumps
from engine.secrets import redact, redacted_json


def reference_redact(value: Any) -> Any:
    """The plain definition: a full copy, masking keys whose lowercased name holds a secret word."""
    words = ("token", "secret", "password", "authorization", "api_key", "apikey")
    if isinstance(value, dict):
        return {
            k: "***" if any(w in str(k).lower() for w in words) else reference_redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [reference_redact(v) for v in value]
    return value


PAYLOADS = [
    {"id": 1, "token": "abc", "line_items": [{"sku": "A", "price_set": {"shop_money": {"amount": "1"}}}]},
    {"Order": {"DocumentNumber": "7", "OrderRows": [{"Price": 1.5}]}, "Invoice": None},
    {"a": {"b": [{"Api_Key": {"nested": "dict is masked whole"}}, 3, None]}},
    {"note": "a value that says token: is not a key", "n": 1},
    {"Authorization": "Bearer x", 5: "int key", "ok": True},
    {"x\x1apikey": "an escape next to the letters in the JSON text"},
    {"ÄPİ_KEY": "lowercases to something else", "passWORD": "masked"},
    {"name": "Åsa Öberg", "meta": {"Token": "beside text that is not ASCII"}},
    {"name": "Åsa", "meta": {"to\u212aen": "KELVIN SIGN lowercases to k"}},
    [{"password": "p"}, {"safe": [1, 2]}, "s"],
    "a string",
    None,
    {},
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_redaction_matches_the_plain_definition(payload: Any) -> None:
    before = copy.deepcopy(payload)
    expected = reference_redact(payload)
    assert redact(payload) == expected
    encode = json.JSONEncoder(default=str, ensure_ascii=False).encode
    assert redacted_json(payload, encode) == encode(expected)
    assert redacted_json(payload, encode) == encode(expected)  # second time: key verdicts cached
    assert dumps(payload) == jsontext.dumps(expected)
    assert payload == before


def test_parts_without_secrets_are_shared_not_copied() -> None:
    rows = [{"sku": "A"}, {"sku": "B"}]
    order = {"token": "t", "line_items": rows, "customer": {"password": "p", "tags": ["x"]}}
    clean = redact(order)
    assert clean["line_items"] is rows
    assert (
        clean["customer"] is not order["customer"] and clean["customer"]["tags"] is order["customer"]["tags"]
    )
    assert redact(rows) is rows


def test_stored_json_reads_back_as_the_redacted_value() -> None:
    order = {"id": 2**62, "name": "#1001 Åsa", "total": "9.90", "token": "t", "tags": [1.5, None, True]}
    assert json.loads(dumps(order)) == {**order, "token": "***"}
    # What orjson has no type for is written as its str(), as the standard library did with default=str.
    assert json.loads(jsontext.dumps({"amount": Decimal("1.10")})) == {"amount": "1.10"}
    assert jsontext.loads(jsontext.dumps_bytes({5: "a key that is not a string"})) == {
        "5": "a key that is not a string"
    }
