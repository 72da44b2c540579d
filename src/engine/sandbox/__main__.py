"""Command line: `python -m engine.sandbox serve [--host H] [--port 0] [--orders N] [--seed S]
[--time-scale F] [--no-limits]` (the same flags as `junipeer sandbox serve`)."""

from __future__ import annotations

import argparse
import sys

from engine.sandbox.server import serve
from engine.sandbox.state import SandboxConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.sandbox", description="Local platform sandbox")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve Shopify, Fortnox and Stripe imitations on one port")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=0, help="0 picks a free port")
    run.add_argument("--orders", type=int, default=200)
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--time-scale", type=float, default=1.0, help="multiplies every rate-limit window")
    run.add_argument("--no-limits", action="store_true", help="disable rate limiting")
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    serve(
        SandboxConfig(
            host=args.host,
            port=args.port,
            orders=args.orders,
            seed=args.seed,
            time_scale=args.time_scale,
            limits=not args.no_limits,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
