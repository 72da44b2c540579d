"""Running the sandbox: blocking `serve`, in a background thread, or as a subprocess."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from engine.sandbox.app import build_app
from engine.sandbox.state import SandboxConfig, SandboxState


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may well resolve to an address other machines reach
        return False


def _warn_if_reachable(config: SandboxConfig) -> None:
    if not is_loopback(config.host):
        print(
            f"warning: the sandbox listens on {config.host}, where other machines can reach it: its "
            "fake platforms accept the credentials it prints and its control endpoints the control "
            "token. Serve it on 127.0.0.1 unless you mean to share it.",
            file=sys.stderr,
            flush=True,
        )


def _bind(config: SandboxConfig) -> socket.socket:
    _warn_if_reachable(config)
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    # proto must be IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every keep-alive response stalls ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    # Listening before the info line is printed means clients may connect at once; uvicorn accepts later.
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _base_url(config: SandboxConfig, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    host = f"[{config.host}]" if ":" in config.host else config.host
    if host in ("0.0.0.0", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def _server(app: Any) -> uvicorn.Server:
    cfg = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        # Long keep-alive: with uvicorn's 5 s default a loaded client can race an idle-close and see a
        # spurious ReadError on a pooled connection.
        timeout_keep_alive=75,
        backlog=1024,
    )
    return uvicorn.Server(cfg)


def serve(config: SandboxConfig, announce: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Bind, print the info JSON line (then hand the info to `announce`), serve until SIGINT/SIGTERM,
    then return (exit status 0)."""
    app = build_app(config)
    sock = _bind(config)
    state: SandboxState = app.state.sandbox
    info = state.info(_base_url(config, sock))
    print(json.dumps(info), flush=True)
    if announce is not None:
        announce(info)
    server = _server(app)

    def graceful(sig: int, frame: FrameType | None) -> None:
        server.should_exit = True

    # uvicorn re-raises the captured signal after shutdown with the handlers present before it started;
    # these make that re-raise harmless so the process exits 0.
    signal.signal(signal.SIGTERM, graceful)
    signal.signal(signal.SIGINT, graceful)
    server.run(sockets=[sock])


class RunningSandbox:
    """A started sandbox; use as a context manager or call stop()."""

    def __init__(
        self,
        info: dict[str, Any],
        stopper: Any,
        app: Any = None,
        process: subprocess.Popen[str] | None = None,
    ) -> None:
        self.info = info
        self.base_url: str = info["base_url"]
        self.app = app
        self.process = process  # set by start_in_process
        self._stopper = stopper
        self._stopped = False

    @property
    def state(self) -> SandboxState | None:
        """The live store (thread mode only), for tests that want to look inside."""
        return self.app.state.sandbox if self.app is not None else None

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._stopper()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_in_thread(config: SandboxConfig, now: float | None = None) -> RunningSandbox:
    """uvicorn on its own event loop in a daemon thread; returns once it accepts connections."""
    app = build_app(config, now)
    sock = _bind(config)
    server = _server(app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="junipeer-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("sandbox server did not start")
        time.sleep(0.005)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    state: SandboxState = app.state.sandbox
    return RunningSandbox(state.info(_base_url(config, sock)), stop, app)


def start_in_process(config: SandboxConfig) -> RunningSandbox:
    """`python -m engine.sandbox serve` in a subprocess; stop() terminates it."""
    cmd = [
        sys.executable, "-m", "engine.sandbox", "serve",
        "--host", config.host, "--port", str(config.port), "--orders", str(config.orders),
        "--seed", str(config.seed), "--time-scale", repr(config.time_scale),
    ]  # fmt: skip
    if not config.limits:
        cmd.append("--no-limits")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=5)
        raise RuntimeError(f"sandbox process exited with {proc.returncode} before printing its info line")
    info = json.loads(line)

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()

    return RunningSandbox(info, stop, process=proc)
