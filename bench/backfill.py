"""Backfill benchmark: how much CPU the engine spends per request beyond plain httpx, and how well it
uses Fortnox's rate limit.

    python bench/backfill.py [--orders 2000] [--only a|b] [--concurrency 8] [--rounds 2] [--b-orders 800]
                             [--write]

(a) Unthrottled: a sandbox with --no-limits. The engine runs the first full sync (Time History from
    the exclusion date, 90 days back) in a subprocess of its own; then a bare httpx loop, also in a
    subprocess, replays the same request mix at the same concurrency against a fresh sandbox started
    the same way. Reported, not a goal: the engine's CPU per request above the bare loop's (engine
    µs/request − bare µs/request) and their ratio, from the same run. Each child reads its own CPU
    time, user + system of all its threads (time.process_time, i.e. getrusage(RUSAGE_SELF)), right
    before and after its work, and divides by the requests the sandbox counted; the event loop
    thread's share (time.thread_time) is shown beside it. The sandbox runs in a third process, so
    none of its CPU is in either figure. Of --rounds runs of each client (engine then bare, each
    against a fresh sandbox), the least CPU per request of each side is compared: other tenants of
    a shared machine only ever add to a run's CPU time (caches, the other vCPU's load), so the least
    is the closest to the code's own cost. Every round is printed. Request rates are printed too,
    for information: the rate ratio (once a goal, ≥ 0.8) was 0.72–0.88 from round to round on the
    same code on a loaded 2-vCPU host, so it says more about the host than about the engine.
(b) Real-shaped limits at --time-scale 0.02 (Fortnox: 25 requests per 0.1 s = 250/s): the achieved
    Fortnox request rate as a share of the allowed rate (goal ≥ 0.95), sampled from the sandbox's
    stats while the engine runs, and the share of Fortnox requests answered 429 (goal ≤ 1 %).

Why subprocesses: the engine, the bare loop and the sandbox each get a process (and so a core of
their own on a 2-core machine), both clients are timed by the same code, and the engine's peak RSS
(ru_maxrss of its process) is the engine's alone. `--write` rewrites bench/RESULTS.md, keeping what
follows the notes marker. The exit status is 1 when a goal of (b) fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from engine.sandbox import SandboxConfig
from engine.sandbox.client import control_client
from engine.sandbox.server import RunningSandbox, start_in_process
from machine import machine  # bench/ is the script's directory, so on sys.path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
NOTES_MARKER = "<!-- notes: everything below this line is kept by --write -->"

FORTNOX_LIMIT, FORTNOX_WINDOW = 25, 5.0  # Fortnox: 25 requests in any 5 s
B_TIME_SCALE = 0.02
SAMPLE_SECONDS = 0.1
GOAL_SHARE, GOAL_429 = 0.95, 0.01
PAID = frozenset({"paid", "partially_refunded", "refunded"})


def _now() -> float:
    return time.time()


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (0.0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_clocks() -> tuple[float, float]:
    """(CPU seconds of this process, all threads; CPU seconds of the calling thread)."""
    return time.process_time(), time.thread_time()


def _cpu_since(start: tuple[float, float]) -> dict[str, float]:
    process, thread = _cpu_clocks()
    return {"cpu": process - start[0], "loop_cpu": thread - start[1]}


def _control(info: dict[str, Any], method: str, path: str) -> Any:
    with control_client(info, timeout=30) as client:
        response = client.request(method, path)
    response.raise_for_status()
    return response.json()


# -- child: the engine --------------------------------------------------------------------------
async def _engine_run(info: dict[str, Any], concurrency: int, workdir: Path) -> dict[str, Any]:
    from engine.secrets import FileSecretStore
    from engine.service import Service

    svc = Service(
        f"sqlite:///{workdir}/bench.sqlite", secrets=FileSecretStore(workdir / "s.json"), data_dir=workdir
    )
    integ = await svc.connect_sandbox(info, "Bench")
    assert integ.id is not None
    # run_headless(until_idle=True) minus its signal handlers, so the clients (one per connector,
    # cached by the runner's pool) can be read afterwards for their own count of waits and retries.
    runner = svc.runner(concurrency=concurrency)
    clients = {c.platform: runner.pool.get(c) for c in svc.connectors(integ.id)}
    holds = _record_slot_holds(clients.get("fortnox"))
    _control(info, "POST", "stats/reset")
    rss_before = _rss_kib()
    cpu0, t0, wall0 = _cpu_clocks(), time.perf_counter(), _now()
    for flow in svc.flows(integ.id):
        if flow.enabled:
            svc.sync(flow)
    await runner.run(until_idle=True)
    elapsed, cpu = time.perf_counter() - t0, _cpu_since(cpu0)
    stats = _control(info, "GET", "stats")
    tasks = svc.tasks(integ.id)
    result = {
        "wall_start": wall0,
        "elapsed": elapsed,
        **cpu,
        "stats": stats,
        "entities": svc.entity_counts(integ.id),
        "tasks": [{"status": str(t.status), "message": t.message} for t in tasks],
        "clients": {name: c.stats.as_dict() for name, c in clients.items()},
        "rss_before_kib": rss_before,
        "slot_holds": holds,
    }
    await svc.aclose()
    return result


def _record_slot_holds(client: Any) -> list[float]:
    """Seconds each Fortnox limiter slot was held from its claim until the response was observed
    (L_eff: the limiter then keeps it one more window, so a full window caps the rate at
    max_requests / (window + L_eff))."""
    holds: list[float] = []
    limiter = getattr(client, "limiter", None)
    if limiter is None or not getattr(client, "pacing", False):
        return holds
    slot = limiter.slot

    @contextlib.asynccontextmanager
    async def timed() -> Any:
        async with slot() as waited:
            start = time.perf_counter()
            try:
                yield waited
            finally:
                holds.append(time.perf_counter() - start)

    limiter.slot = timed
    return holds


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


# -- child: the bare loop -----------------------------------------------------------------------
def _bare_settings() -> Any:
    from engine.mapping.settings import IntegrationSettings
    from engine.service import SANDBOX_PAYMENT, SANDBOX_SHIPPING

    settings = IntegrationSettings()
    settings.customer.default_name = "Webshop customer"
    settings.shipping.mapping = dict(SANDBOX_SHIPPING)
    settings.payment.mapping = dict(SANDBOX_PAYMENT)
    return settings


async def _bare_run(info: dict[str, Any], concurrency: int) -> dict[str, Any]:
    """The engine's request sequence per order with plain httpx: no pacing, no database, no retries."""
    from engine.flows.orders_to_fortnox import build_customer, build_order
    from engine.mapping.filters import PRESETS

    shop, fx = info["shopify"], info["fortnox"]
    async with httpx.AsyncClient(timeout=30) as plain:
        token = (
            await plain.post(
                fx["token_url"],
                data={"grant_type": "refresh_token", "refresh_token": fx["refresh_token"]},
                auth=(fx["client_id"], fx["client_secret"]),
            )
        ).json()["access_token"]
    ctx = SimpleNamespace(settings=_bare_settings())
    kept = set(PRESETS["status"].default)
    exclusion = date.today() - timedelta(days=90)  # connect_sandbox's default exclusion date
    start, end = datetime.combine(exclusion, dtime.min, tzinfo=UTC), datetime.now(UTC)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=50)
    accept = {"Accept": "application/json"}
    sc = httpx.AsyncClient(
        base_url=shop["base_url"],
        headers={**accept, "X-Shopify-Access-Token": shop["access_token"]},
        timeout=30,
        limits=limits,
    )
    fc = httpx.AsyncClient(
        base_url=fx["base_url"],
        headers={**accept, "Authorization": f"Bearer {token}"},
        timeout=30,
        limits=limits,
    )
    records: asyncio.Queue[dict | None] = asyncio.Queue(maxsize=concurrency * 4)
    known: dict[str, str] = {}
    locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
    counts = {"seen": 0, "sent": 0, "failed": 0}

    async def produce() -> None:
        try:
            window = {"status": "any", "updated_at_min": start.isoformat(), "updated_at_max": end.isoformat()}
            await sc.get("orders/count.json", params=window)
            day = start
            while day < end:
                nxt = min(day + timedelta(days=1), end)
                url: str | None = "orders.json"
                params: dict[str, Any] | None = {
                    "status": "any",
                    "updated_at_min": day.isoformat(),
                    "updated_at_max": nxt.isoformat(),
                    "limit": 250,
                }
                while url:
                    response = await sc.get(url, params=params)
                    for order in response.json()["orders"]:
                        counts["seen"] += 1
                        await records.put(order)
                    url, params = response.links.get("next", {}).get("url"), None
                day = nxt
        finally:
            for _ in range(concurrency):
                await records.put(None)

    async def customer_number(order: dict) -> str:
        customer = order.get("customer") or {}
        email = (order.get("email") or customer.get("email") or "").strip().lower()
        sid = str(customer["id"]) if customer.get("id") else f"email:{email}"
        async with locks[sid]:
            if sid in known:
                return known[sid]
            found = (await fc.get("customers", params={"email": email, "limit": 500, "page": 1})).json()[
                "Customers"
            ]
            match = [c for c in found if str(c.get("Email") or "").casefold() == email]
            if match:
                number = str(match[0]["CustomerNumber"])
            else:
                body = {"Customer": build_customer(ctx, order)}  # type: ignore[arg-type]
                number = str((await fc.post("customers", json=body)).json()["Customer"]["CustomerNumber"])
            known[sid] = number
            return number

    async def handle(order: dict) -> None:
        created = datetime.fromisoformat(order["created_at"])
        if created.date() < exclusion or order.get("financial_status") not in kept:
            return
        number = await customer_number(order)
        response = await fc.post("orders", json={"Order": build_order(ctx, order, number)})  # type: ignore[arg-type]
        counts["sent"] += 1
        if response.status_code >= 400:
            counts["failed"] += 1
            return
        doc = response.json()["Order"]["DocumentNumber"]
        if order.get("cancelled_at"):
            await fc.put(f"orders/{doc}/cancel")
        elif order.get("financial_status") in PAID:
            invoice = (await fc.put(f"orders/{doc}/createinvoice")).json()["Invoice"]["DocumentNumber"]
            await fc.put(f"invoices/{invoice}/bookkeep")

    async def consume() -> None:
        while (order := await records.get()) is not None:
            await handle(order)

    _control(info, "POST", "stats/reset")
    cpu0, t0, wall0 = _cpu_clocks(), time.perf_counter(), _now()
    try:
        await asyncio.gather(produce(), *(consume() for _ in range(concurrency)))
    finally:
        elapsed, cpu = time.perf_counter() - t0, _cpu_since(cpu0)
        await sc.aclose()
        await fc.aclose()
    return {
        "wall_start": wall0,
        "elapsed": elapsed,
        **cpu,
        "stats": _control(info, "GET", "stats"),
        **counts,
    }


def child_main(kind: str, info_path: Path, out_path: Path, concurrency: int) -> None:
    info = json.loads(info_path.read_text())
    if kind == "engine":
        with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
            result = asyncio.run(_engine_run(info, concurrency, Path(tmp)))
    else:
        result = asyncio.run(_bare_run(info, concurrency))
    result["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out_path.write_text(json.dumps(result))


# -- parent -------------------------------------------------------------------------------------
@dataclass
class ChildRun:
    result: dict[str, Any]
    sandbox_cpu: float
    samples: list[tuple[float, dict[str, Any]]] = field(default_factory=list)


def run_child(
    kind: str, sandbox: RunningSandbox, info: dict[str, Any], concurrency: int, sample: bool = False
) -> ChildRun:
    assert sandbox.process is not None
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        info_path, out_path = Path(tmp) / "info.json", Path(tmp) / "out.json"
        info_path.write_text(json.dumps(info))
        cmd = [sys.executable, __file__, "--child", kind, "--info", str(info_path), "--out", str(out_path)]
        cpu0 = proc_cpu_seconds(sandbox.process.pid)
        proc = subprocess.Popen([*cmd, "--concurrency", str(concurrency)])
        samples: list[tuple[float, dict[str, Any]]] = []
        while proc.poll() is None:
            if sample:
                with_time = (_now(), _control(info, "GET", "stats"))
                samples.append(with_time)
            time.sleep(SAMPLE_SECONDS if sample else 0.2)
        sandbox_cpu = proc_cpu_seconds(sandbox.process.pid) - cpu0
        if proc.returncode != 0 or not out_path.exists():
            raise SystemExit(f"{kind} child failed with exit status {proc.returncode}")
        return ChildRun(json.loads(out_path.read_text()), sandbox_cpu, samples)


def _sandbox(orders: int, time_scale: float, limits: bool) -> RunningSandbox:
    return start_in_process(SandboxConfig(orders=orders, seed=1, time_scale=time_scale, limits=limits))


def _requests(stats: dict[str, Any]) -> int:
    return int(stats["shopify"]["requests"] + stats["fortnox"]["requests"])


def _fortnox_order_posts(stats: dict[str, Any]) -> int:
    """Requests to /3/orders: in a first sync these are the creates, one per order handed to Fortnox."""
    return int(stats["fortnox"]["by_path"].get("/fortnox/3/orders", 0))


def _rate(run: ChildRun) -> float:
    return _requests(run.result["stats"]) / run.result["elapsed"]


def cpu_per_request(result: dict[str, Any], clock: str = "cpu") -> float:
    """Microseconds of the child's CPU (`cpu`: all its threads; `loop_cpu`: the event loop's thread)
    per request the sandbox counted."""
    return 1e6 * result[clock] / max(1, _requests(result["stats"]))


def _client_figures(run: ChildRun) -> dict[str, Any]:
    r = run.result
    return {
        "elapsed": r["elapsed"],
        "requests": _requests(r["stats"]),
        "fortnox": r["stats"]["fortnox"]["requests"],
        "shopify": r["stats"]["shopify"]["requests"],
        "rate": _rate(run),
        "cpu_us": cpu_per_request(r),
        "loop_cpu_us": cpu_per_request(r, "loop_cpu"),
        "cpu_cores": r["cpu"] / r["elapsed"],
        "sandbox_cores": run.sandbox_cpu / r["elapsed"],
        "by_path": {**r["stats"]["shopify"]["by_path"], **r["stats"]["fortnox"]["by_path"]},
    }


def bench_a(orders: int, concurrency: int, rounds: int) -> dict[str, Any]:
    """`rounds` times the engine, then the bare loop, each against a fresh sandbox; of each side, the
    run with the least CPU per request is compared (see the module's docstring for why the least)."""
    engines: list[ChildRun] = []
    bares: list[ChildRun] = []
    for _ in range(rounds):
        with _sandbox(orders, 1.0, False) as sb:
            # The sandbox has no limits, so connect_sandbox turns the clients' pacing off.
            engines.append(run_child("engine", sb, sb.info, concurrency))
        with _sandbox(orders, 1.0, False) as sb:
            bares.append(run_child("bare", sb, sb.info, concurrency))

    def least(runs: list[ChildRun]) -> ChildRun:
        return min(runs, key=lambda run: cpu_per_request(run.result))

    engine, bare = least(engines), least(bares)
    e, b = engine.result, bare.result
    sent = _fortnox_order_posts(e["stats"])
    e_fig, b_fig = _client_figures(engine), _client_figures(bare)
    return {
        "orders": orders,
        "concurrency": concurrency,
        "engine": {
            **e_fig,
            "orders_sent": sent,
            "entities": e["entities"].get("order", {}),
            "orders_per_s": sent / e["elapsed"],
            "fortnox_per_order": e["stats"]["fortnox"]["requests"] / max(1, sent),
            "peak_rss_mib": e["peak_rss_kib"] / 1024,
            "rss_before_mib": e["rss_before_kib"] / 1024,
            "tasks": e["tasks"],
        },
        "bare": {**b_fig, "orders_sent": b["sent"]},
        "cpu_above_us": e_fig["cpu_us"] - b_fig["cpu_us"],
        "cpu_ratio": e_fig["cpu_us"] / b_fig["cpu_us"],
        "rate_ratio": e_fig["rate"] / b_fig["rate"],
        "rounds": [
            {
                "engine_rate": _rate(x),
                "bare_rate": _rate(y),
                "engine_cpu_us": cpu_per_request(x.result),
                "bare_cpu_us": cpu_per_request(y.result),
            }
            for x, y in zip(engines, bares, strict=True)
        ],
    }


def fortnox_window(samples: list[tuple[float, dict[str, Any]]]) -> dict[str, Any]:
    """Rate between the first sample showing Fortnox traffic and the sample where it stopped growing.

    Only whole sampling intervals count, so the partial first and last ones (≤ SAMPLE_SECONDS each) are
    left out rather than guessed.
    """
    series = [(t, int(s["fortnox"]["requests"]), int(s["fortnox"]["429"])) for t, s in samples]
    # Traffic starts inside the interval ending at `first` and stops inside the last one that grew:
    # the whole intervals lie between `first` and the sample before that last one.
    first = next(i for i, (_, n, _) in enumerate(series) if n > 0)
    grew = [i for i in range(first + 1, len(series)) if series[i][1] > series[i - 1][1]]
    last = max(first, grew[-1] - 1) if grew else first
    (t0, n0, _), (t1, n1, _) = series[first], series[last]
    per_interval = []
    for (ta, na, _), (tb, nb, _) in zip(series[first:last], series[first + 1 : last + 1], strict=True):
        per_interval.append((nb - na) / (tb - ta))
    allowed = FORTNOX_LIMIT / (FORTNOX_WINDOW * B_TIME_SCALE)
    slow = sum(1 for r in per_interval if r < allowed / 2)
    # Best one-second stretch: what the engine reaches when nothing stalls it.
    best = 0.0
    for i in range(first, last + 1):
        j = i
        while j <= last and series[j][0] - series[i][0] < 1.0:
            j += 1
        if j <= last:
            best = max(best, (series[j][1] - series[i][1]) / (series[j][0] - series[i][0]))
    return {
        "seconds": t1 - t0,
        "requests": n1 - n0,
        "rate": (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0,
        "intervals": len(per_interval),
        "slow_intervals": slow,
        "best_1s": best,
    }


def bench_b(orders: int, concurrency: int) -> dict[str, Any]:
    with _sandbox(orders, B_TIME_SCALE, True) as sb:
        run = run_child("engine", sb, sb.info, concurrency, sample=True)
    e = run.result
    fortnox = e["stats"]["fortnox"]
    allowed = FORTNOX_LIMIT / (FORTNOX_WINDOW * B_TIME_SCALE)
    # Samples taken before the child reset the stats (while it connected) are not part of the run.
    window = fortnox_window([(t, s) for t, s in run.samples if t >= e["wall_start"]])
    out = {
        "orders": orders,
        "concurrency": concurrency,
        "elapsed": e["elapsed"],
        "fortnox": fortnox["requests"],
        "fortnox_429": fortnox["429"],
        "shopify": e["stats"]["shopify"]["requests"],
        "shopify_429": e["stats"]["shopify"]["429"],
        "allowed_rate": allowed,
        "window": window,
        "share": window["rate"] / allowed,
        "share_429": fortnox["429"] / max(1, fortnox["requests"]),
        "cpu_cores": e["cpu"] / e["elapsed"],
        "sandbox_cores": run.sandbox_cpu / e["elapsed"],
        "peak_rss_mib": e["peak_rss_kib"] / 1024,
        "clients": e["clients"],
        "l_eff_ms": {
            "mean": 1000 * sum(e["slot_holds"]) / max(1, len(e["slot_holds"])),
            "p50": 1000 * _percentile(e["slot_holds"], 0.5),
            "p90": 1000 * _percentile(e["slot_holds"], 0.9),
            "p99": 1000 * _percentile(e["slot_holds"], 0.99),
        },
        "entities": e["entities"].get("order", {}),
        "tasks": e["tasks"],
    }
    window_s = FORTNOX_WINDOW * B_TIME_SCALE
    out["l_eff_ceiling"] = FORTNOX_LIMIT / (window_s + out["l_eff_ms"]["mean"] / 1000)
    return out


# -- reporting ----------------------------------------------------------------------------------
def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def verdicts(b: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """The goals: (b)'s only; (a) is a measurement, reported beside them."""
    out = []
    if b is not None:
        out.append(
            (
                "(b) Fortnox rate / allowed rate ≥ 0.95",
                f"{b['share']:.3f} ({b['window']['rate']:.0f}/{b['allowed_rate']:.0f} per s)",
                _verdict(b["share"] >= GOAL_SHARE),
            )
        )
        out.append(
            (
                "(b) Fortnox 429 share ≤ 1 %",
                f"{100 * b['share_429']:.2f} % ({b['fortnox_429']}/{b['fortnox']})",
                _verdict(b["share_429"] <= GOAL_429),
            )
        )
    return out


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def report_lines(a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[str]:
    lines: list[str] = []
    if a is not None:
        e, bare = a["engine"], a["bare"]
        ent = ", ".join(f"{k} {v}" for k, v in sorted(e["entities"].items()))
        lines += [
            f"### (a) unthrottled backfill: {a['orders']} orders, concurrency {a['concurrency']}",
            "",
            f"Engine CPU per request above the bare loop's: **{a['cpu_above_us']:.0f} µs** "
            f"({e['cpu_us']:.0f} vs {bare['cpu_us']:.0f} µs per request, ×{a['cpu_ratio']:.2f}); "
            f"reported, not a goal. The least of {len(a['rounds'])} rounds of each (engine then bare, "
            "each against a fresh sandbox); every round:",
            "",
            *_table(
                [
                    (
                        str(i),
                        f"{r['engine_cpu_us']:.0f}",
                        f"{r['bare_cpu_us']:.0f}",
                        f"{r['engine_cpu_us'] - r['bare_cpu_us']:.0f}",
                        f"{r['engine_cpu_us'] / r['bare_cpu_us']:.2f}",
                        f"{r['engine_rate']:.0f}",
                        f"{r['bare_rate']:.0f}",
                        f"{r['engine_rate'] / r['bare_rate']:.2f}",
                    )
                    for i, r in enumerate(a["rounds"], 1)
                ],
                (
                    "round",
                    "engine CPU µs/req",
                    "bare CPU µs/req",
                    "above",
                    "ratio",
                    "engine req/s",
                    "bare req/s",
                    "rate ratio",
                ),
            ),
            "",
            "The runs compared:",
            "",
            *_table(
                [
                    ("CPU per request (µs), all threads", f"{e['cpu_us']:.0f}", f"{bare['cpu_us']:.0f}"),
                    (
                        "  of which the event loop's thread",
                        f"{e['loop_cpu_us']:.0f}",
                        f"{bare['loop_cpu_us']:.0f}",
                    ),
                    ("wall time (s)", f"{e['elapsed']:.1f}", f"{bare['elapsed']:.1f}"),
                    ("requests (Shopify + Fortnox)", f"{e['requests']}", f"{bare['requests']}"),
                    ("  of which Fortnox", f"{e['fortnox']}", f"{bare['fortnox']}"),
                    ("orders sent to Fortnox", f"{e['orders_sent']}", f"{bare['orders_sent']}"),
                    ("orders/s", f"{e['orders_per_s']:.1f}", f"{bare['orders_sent'] / bare['elapsed']:.1f}"),
                    ("requests/s", f"{e['rate']:.0f}", f"{bare['rate']:.0f}"),
                    ("Fortnox requests per order", f"{e['fortnox_per_order']:.2f}", "—"),
                    ("client CPU (cores)", f"{e['cpu_cores']:.2f}", f"{bare['cpu_cores']:.2f}"),
                    ("sandbox CPU (cores)", f"{e['sandbox_cores']:.2f}", f"{bare['sandbox_cores']:.2f}"),
                    (
                        "peak RSS (MiB)",
                        f"{e['peak_rss_mib']:.0f} (before run {e['rss_before_mib']:.0f})",
                        "—",
                    ),
                ],
                ("", "engine", "bare httpx loop"),
            ),
            "",
            f"Engine order entities: {ent}. Requests per second, engine / bare: {a['rate_ratio']:.2f} "
            "(for information: a client below 1.0 core was descheduled by other tenants).",
            "",
            "Request mix (sandbox `by_path`), engine vs bare loop:",
            "",
            *_table(
                [
                    (path, str(e["by_path"].get(path, 0)), str(bare["by_path"].get(path, 0)))
                    for path in sorted(set(e["by_path"]) | set(bare["by_path"]))
                ],
                ("endpoint", "engine", "bare"),
            ),
            "",
        ]
    if b is not None:
        w, fx = b["window"], b["clients"].get("fortnox", {})
        unpaced = a["engine"]["fortnox"] / a["engine"]["elapsed"] if a is not None else None
        lines += [
            f"### (b) real-shaped limits, time scale {B_TIME_SCALE}: {b['orders']} orders, "
            f"concurrency {b['concurrency']}",
            "",
            *_table(
                [
                    ("wall time of the run (s)", f"{b['elapsed']:.1f}"),
                    ("Fortnox requests / 429s", f"{b['fortnox']} / {b['fortnox_429']}"),
                    ("Shopify requests / 429s", f"{b['shopify']} / {b['shopify_429']}"),
                    ("Fortnox traffic window (s)", f"{w['seconds']:.2f}"),
                    ("achieved Fortnox rate (req/s)", f"{w['rate']:.1f}"),
                    ("allowed rate (req/s)", f"{b['allowed_rate']:.0f}"),
                    ("share of allowed rate", f"{b['share']:.3f}"),
                    ("best 1 s stretch (req/s)", f"{w['best_1s']:.0f}"),
                    *(
                        [("engine's unpaced Fortnox rate in (a) (req/s)", f"{unpaced:.0f}")]
                        if unpaced is not None
                        else []
                    ),
                    (
                        f"{SAMPLE_SECONDS:g} s intervals below half the allowed rate",
                        f"{w['slow_intervals']} of {w['intervals']}",
                    ),
                    (
                        "client: seconds waited for a Fortnox slot (sum)",
                        f"{fx.get('waits_for_pacing', 0):.1f}",
                    ),
                    ("client: Fortnox retries", f"{fx.get('retries', 0):.0f}"),
                    (
                        "client: slot held claim → response observed, L_eff (ms) mean / p50 / p90 / p99",
                        " / ".join(f"{b['l_eff_ms'][k]:.1f}" for k in ("mean", "p50", "p90", "p99")),
                    ),
                    ("ceiling 25 / (window + mean L_eff) (req/s)", f"{b['l_eff_ceiling']:.0f}"),
                    ("engine CPU (cores)", f"{b['cpu_cores']:.2f}"),
                    ("sandbox CPU (cores)", f"{b['sandbox_cores']:.2f}"),
                    ("engine peak RSS (MiB)", f"{b['peak_rss_mib']:.0f}"),
                ],
                ("", "value"),
            ),
            "",
        ]
    if b is not None:
        lines += ["### Goals", "", *_table(verdicts(b), ("goal", "measured", "verdict")), ""]
    return lines


def write_results(command: str, lines: list[str]) -> None:
    notes = ""
    if RESULTS.exists():
        text = RESULTS.read_text()
        if NOTES_MARKER in text:
            notes = text.split(NOTES_MARKER, 1)[1]
    head = [
        "# Benchmarks",
        "",
        "## Backfill (`bench/backfill.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, with:",
        "",
        "```sh",
        command,
        "```",
        "",
    ]
    RESULTS.write_text("\n".join(head + lines) + "\n" + NOTES_MARKER + (notes or "\n"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=2000, help="orders in the (a) sandbox")
    parser.add_argument("--b-orders", type=int, default=800, help="orders in the (b) sandbox")
    parser.add_argument("--only", choices=("a", "b"))
    parser.add_argument("--concurrency", type=int, default=8, help="engine consumers = bare-loop workers")
    parser.add_argument("--rounds", type=int, default=2, help="(a) runs of each client; the cheapest counts")
    parser.add_argument("--write", action="store_true", help="rewrite bench/RESULTS.md")
    parser.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    parser.add_argument("--child", choices=("engine", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--info", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child, args.info, args.out, args.concurrency)
        return 0
    say: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    a = b = None
    if args.only in (None, "a"):
        say(f"(a) {args.orders} orders, no limits: engine, then the bare loop, {args.rounds} rounds ...")
        a = bench_a(args.orders, args.concurrency, max(1, args.rounds))
    if args.only in (None, "b"):
        say(f"(b) {args.b_orders} orders, limits at time scale {B_TIME_SCALE} ...")
        b = bench_b(args.b_orders, args.concurrency)
    lines = report_lines(a, b)
    print("\n".join(lines))
    if args.json:
        print(json.dumps({"a": a, "b": b}, indent=1, default=str))
    if args.write:
        command = "python bench/backfill.py " + " ".join(a for a in (argv or sys.argv[1:]))
        write_results(command.strip(), lines)
        say(f"wrote {RESULTS}")
    ok = all(v == "PASS" for _, _, v in verdicts(b))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
