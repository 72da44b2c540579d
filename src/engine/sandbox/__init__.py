"""Local platform sandbox: Shopify, Fortnox and Stripe imitations on one loopback port."""

from engine.sandbox.app import build_app
from engine.sandbox.server import RunningSandbox, serve, start_in_process, start_in_thread
from engine.sandbox.state import SandboxConfig

__all__ = ["RunningSandbox", "SandboxConfig", "build_app", "serve", "start_in_process", "start_in_thread"]
