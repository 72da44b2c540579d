"""Fault injection for API paths, chosen per request from a seeded random stream."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

PLATFORMS = ("shopify", "fortnox", "stripe")
KINDS = ("error_5xx", "rate_429", "timeout", "drop", "malformed_json", "slow", "wrong_shape")


@dataclass
class FaultConfig:
    error_5xx: float = 0.0
    rate_429: float = 0.0
    timeout: float = 0.0
    malformed_json: float = 0.0
    slow: float = 0.0
    drop: float = 0.0
    # Valid JSON of another shape than the platform's (the answer wrapped in a list), as from an API
    # version the client does not speak.
    wrong_shape: float = 0.0
    slow_seconds: float = 0.5
    timeout_seconds: float = 30.0
    seed: int | None = None
    # Only requests with this method and a path containing this text ("POST", "/customers"): a fault
    # aimed at one step, such as a customer create whose answer is lost.
    method: str | None = None
    path: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FaultConfig:
        cfg = cls()
        for key in (*KINDS, "slow_seconds", "timeout_seconds"):
            if key in body:
                value = float(body[key])
                if value < 0 or (key in KINDS and value > 1):
                    raise ValueError(f"{key} out of range: {value}")
                setattr(cfg, key, value)
        if body.get("seed") is not None:
            cfg.seed = int(body["seed"])
        for key in ("method", "path"):
            if body.get(key) is not None:
                setattr(cfg, key, str(body[key]))
        return cfg


class FaultInjector:
    def __init__(self) -> None:
        self.configs: dict[str, FaultConfig] = {}
        self.rng = random.Random(0)

    def set(self, platform: str, cfg: FaultConfig) -> None:
        targets = PLATFORMS if platform == "*" else (platform,)
        if any(t not in PLATFORMS for t in targets):
            raise ValueError(f"unknown platform {platform!r}")
        for target in targets:
            self.configs[target] = cfg
        if cfg.seed is not None:
            self.rng = random.Random(cfg.seed)

    def clear(self) -> None:
        self.configs.clear()

    def describe(self) -> dict[str, Any]:
        return {platform: asdict(cfg) for platform, cfg in self.configs.items()}

    def pick(self, platform: str, method: str = "", path: str = "") -> tuple[str | None, FaultConfig | None]:
        """At most one fault per request; kinds are tried in a fixed order, each with its own chance."""
        cfg = self.configs.get(platform)
        if cfg is None:
            return None, None
        if (cfg.method and cfg.method.upper() != method.upper()) or (cfg.path and cfg.path not in path):
            return None, cfg
        for kind in KINDS:
            chance = getattr(cfg, kind)
            if chance > 0 and self.rng.random() < chance:
                return kind, cfg
        return None, cfg
