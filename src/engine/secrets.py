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
from pathlib import Path
from typing import Any, Protocol

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


class KeyringSecretStore:
    def get(self, ref: str) -> dict[str, Any] | None:
        import keyring

        raw = keyring.get_password(SERVICE, ref)
        return json.loads(raw) if raw else None

    def set(self, ref: str, value: dict[str, Any]) -> None:
        import keyring

        keyring.set_password(SERVICE, ref, json.dumps(value))

    def delete(self, ref: str) -> None:
        import keyring
        from keyring.errors import PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError):
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
_KEY_VERDICTS: dict[str, bool] = {}
_KEY_VERDICTS_MAX = 4096


def _secret_key(key: Any) -> bool:
    verdict = _KEY_VERDICTS.get(key) if type(key) is str else None
    if verdict is None:
        lowered = str(key).lower()
        verdict = any(s in lowered for s in _SECRET_KEYS)
        if type(key) is str and len(_KEY_VERDICTS) < _KEY_VERDICTS_MAX:
            _KEY_VERDICTS[key] = verdict
    return verdict


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with anything that looks like a credential replaced."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if _secret_key(k):
                out[k] = "***"
            elif isinstance(v, dict | list):
                out[k] = redact(v)
            else:
                out[k] = v
        return out
    if isinstance(value, list):
        return [redact(v) if isinstance(v, dict | list) else v for v in value]
    return value
