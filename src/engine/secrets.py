"""Secrets live in the OS keyring, or in a 0600 file in the data directory on headless servers.

The database only holds a `credential_ref` naming an entry here. `JUNIPEER_SECRETS=file` forces the
file store (tests, CI, servers without a keyring daemon); `JUNIPEER_SECRETS=keyring` forces keyring.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from engine.errors import EngineError

SERVICE = "junipeer"


class SecretStore(Protocol):
    def get(self, ref: str) -> dict[str, Any] | None: ...
    def set(self, ref: str, value: dict[str, Any]) -> None: ...
    def delete(self, ref: str) -> None: ...


class FileSecretStore:
    """One JSON file, rewritten atomically (temp file + fsync + rename) so a crash never loses a
    rotated refresh token half-written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def _write(self, data: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".secrets-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, ref: str) -> dict[str, Any] | None:
        with self._lock:
            return self._read().get(ref)

    def set(self, ref: str, value: dict[str, Any]) -> None:
        with self._lock:
            data = self._read()
            data[ref] = value
            self._write(data)

    def delete(self, ref: str) -> None:
        with self._lock:
            data = self._read()
            if data.pop(ref, None) is not None:
                self._write(data)


@contextlib.contextmanager
def _keyring_answers() -> Iterator[None]:
    """A keyring without a backend (a server with no desktop session) says so with a code."""
    from keyring.errors import KeyringError

    try:
        yield
    except KeyringError as exc:
        raise EngineError("KEYRING_UNAVAILABLE", f"the OS keyring cannot be used: {exc}") from exc


class KeyringSecretStore:
    def get(self, ref: str) -> dict[str, Any] | None:
        import keyring

        with _keyring_answers():
            raw = keyring.get_password(SERVICE, ref)
        return json.loads(raw) if raw else None

    def set(self, ref: str, value: dict[str, Any]) -> None:
        import keyring

        with _keyring_answers():
            keyring.set_password(SERVICE, ref, json.dumps(value))

    def delete(self, ref: str) -> None:
        import keyring
        from keyring.errors import PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError), _keyring_answers():
            keyring.delete_password(SERVICE, ref)


def _keyring_usable() -> bool:
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        return not isinstance(backend, fail.Keyring) and getattr(backend, "priority", 0) > 0
    except Exception:
        return False


def default_store(data_dir: Path) -> SecretStore:
    choice = os.environ.get("JUNIPEER_SECRETS", "auto")
    if choice == "keyring" or (choice == "auto" and _keyring_usable()):
        return KeyringSecretStore()
    return FileSecretStore(data_dir / "secrets.json")


_SECRET_KEYS = ("token", "secret", "password", "authorization", "api_key", "apikey")
# Verdicts per key: payloads repeat the same few hundred keys, and this runs on every stored record.
# The harmless ones also go in a set, so a dict whose keys are all known harmless is passed in one
# C-level subset test instead of a verdict per key.
_KEY_VERDICTS: dict[str, bool] = {}
_SAFE_KEYS: set[str] = set()
_KEY_VERDICTS_MAX = 4096
_CONTAINERS = (dict, list)
# Values of exactly these types need no look inside; checked for a whole dict or list at once.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _secret_key(key: Any) -> bool:
    verdict = _KEY_VERDICTS.get(key) if type(key) is str else None
    if verdict is None:
        lowered = str(key).lower()
        verdict = any(s in lowered for s in _SECRET_KEYS)
        if type(key) is str and len(_KEY_VERDICTS) < _KEY_VERDICTS_MAX:
            _KEY_VERDICTS[key] = verdict
            if not verdict:
                _SAFE_KEYS.add(key)
    return verdict


def redacted_json(value: Any, encode: Callable[[Any], str]) -> str:
    """`encode(redact(value))`, for less: payloads carry few credential-like keys, mostly at the top
    (an order's `token`), and the JSON text can prove there are none further down faster than a walk
    through the value. The top-level ones are masked, the result encoded; every credential-like key
    has one of the words in its lowercased name, and a key's letters appear in the text as they are,
    so if the lowercased text holds each word only as often as the masked keys' names do, `redact`
    has nothing more to mask. Otherwise (a nested one, or a word in some value) it walks after all.
    """
    top = [k for k in value.keys() - _SAFE_KEYS if _secret_key(k)] if isinstance(value, dict) else []
    text = encode({**value, **dict.fromkeys(top, "***")} if top else value)
    lowered = _lowered_utf8(text)
    if all(
        lowered.count(w) == sum(str(k).lower().count(s) for k in top)
        for s, w in zip(_SECRET_KEYS, _SECRET_KEYS_UTF8, strict=True)
    ):
        return text
    return encode(redact(value))


_SECRET_KEYS_UTF8 = tuple(w.encode() for w in _SECRET_KEYS)
# The only characters beyond ASCII whose lowercase holds an ASCII letter: KELVIN SIGN (k) and LATIN
# CAPITAL LETTER I WITH DOT ABOVE (i + a combining dot).
_LOWERS_TO_ASCII = ("\u212a".encode(), "\u0130".encode())


def _lowered_utf8(text: str) -> bytes:
    """`text.lower()` as UTF-8, as far as ASCII words can tell: `str.lower` maps every character
    through Unicode's tables (~15 ns each in an order with one non-ASCII name, most of a stored
    payload's cost), `bytes.lower` only ASCII letters. The two agree on where an ASCII word occurs
    unless the text holds a character that lowercases to ASCII, and then the slow way is taken."""
    raw = text.encode()
    if not raw.isascii() and any(c in raw for c in _LOWERS_TO_ASCII):
        return text.lower().encode()
    return raw.lower()


def redact(value: Any) -> Any:
    """A JSON-like value with anything that looks like a credential replaced.

    Dicts and lists without such keys anywhere below them are returned as they are, not copied (the
    callers only serialise the result): a copy of every order cost more than storing it.
    """
    if isinstance(value, dict):
        return _redact_dict(value)
    if isinstance(value, list):
        return _redact_list(value)
    return value


def _redact_dict(value: dict) -> dict:
    secret = () if value.keys() <= _SAFE_KEYS else [k for k in value if _secret_key(k)]
    out = None
    if secret:
        out = dict(value)
        for k in secret:
            out[k] = "***"
    if _SCALARS.issuperset(map(type, value.values())):
        return value if out is None else out
    items = ((k, v) for k, v in value.items() if k not in secret)
    return _with_redacted_children(value, items, out)  # type: ignore[return-value]


def _redact_list(value: list) -> list:
    if _SCALARS.issuperset(map(type, value)):
        return value
    return _with_redacted_children(value, enumerate(value), None)  # type: ignore[return-value]


def _with_redacted_children(value: Any, items: Iterable[tuple[Any, Any]], out: Any) -> Any:
    """`value` with each container among `items` redacted, copied (or `out` used) only when a
    child changed."""
    for k, v in items:
        if isinstance(v, _CONTAINERS):
            clean = redact(v)
            if clean is not v:
                if out is None:
                    out = dict(value) if isinstance(value, dict) else list(value)
                out[k] = clean
    return value if out is None else out
