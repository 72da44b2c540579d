"""JSON text on the engine's hot paths: platform answers parsed, request bodies and stored payloads
(raw_source, raw_target) written.

orjson does each in a fraction of the standard library's time, and in the backfill benchmark the
engine is CPU-bound: the standard library's JSON was ~7 % of its CPU. What orjson does differently
is kept out of sight: values it cannot write (a dict with keys that are not strings, an int beyond
64 bits) fall back to the standard library, and text it refuses raises `json.JSONDecodeError`
(orjson's error is a subclass). One difference stays: it reads integers beyond 64 bits as floats,
which no platform here sends (their ids fit in 64 bits).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# What json.dumps(value, default=str, ensure_ascii=False) builds on every call, built once.
_STDLIB = json.JSONEncoder(default=str, ensure_ascii=False, separators=(",", ":"))


def loads(text: bytes | str) -> Any:
    """Parse JSON text; raises `json.JSONDecodeError` (also for bytes that are not UTF-8)."""
    return orjson.loads(text)


def dumps_bytes(value: Any) -> bytes:
    """Compact JSON as UTF-8 (a request body); anything JSON has no type for is written as its `str()`."""
    try:
        return orjson.dumps(value, default=str)
    except TypeError:
        return _STDLIB.encode(value).encode()


def dumps(value: Any) -> str:
    """`dumps_bytes` as text (a stored payload)."""
    return dumps_bytes(value).decode()
