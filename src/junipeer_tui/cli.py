"""`junipeer`: the command line. Every command goes through engine.service; errors print as one line
with their code (exit 1), never a traceback."""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from functools import wraps
from typing import Any, NoReturn

import click
import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.errors import EngineError, hint
from engine.runtime.runner import counts_text, message_beyond_counts
from engine.service import EntitySelection, Service, operator_error, upgrade_database
from engine.store.models import utcnow

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


# Commands that write to the database: they upgrade an older schema (and say so on stderr); the
# others refuse it with SCHEMA_OUTDATED. `time-history --set` and `sandbox connect` say it themselves.
WRITERS = frozenset({"run", "export-one", "export-many", "retry"})

# Rows a listing shows at most; --json output of more is better read from the database.
MAX_LIMIT = 10_000
ID = click.IntRange(1, 2**63 - 1)  # a database id: a larger number can't be one
# A sandbox's orders are generated in memory at start; 100,000 is a few hundred MB and a minute.
ORDERS = click.IntRange(0, 100_000)
TIME_SCALE = click.FloatRange(0, 100, min_open=True)


class Ctx:
    def __init__(self, db_url: str | None, integration: str | None, upgrade: bool = False) -> None:
        self.db_url = db_url
        self.integration_name = integration
        self.upgrade = upgrade
        self._service: Service | None = None

    @property
    def service(self) -> Service:
        if self._service is None:
            self._service = Service(self.db_url, upgrade=self.upgrade)
            before = self._service.upgraded_from
            if before is not None:
                err.print(
                    f"Upgraded the database schema from {before.current} to {before.head} "
                    "(`junipeer db upgrade` does only this)."
                )
        return self._service

    def integration_id(self) -> int:
        return self.service.integration(self.integration_name).id  # type: ignore[return-value]


def fail(code: str, message: str, todo: str | None = None) -> NoReturn:
    """Say what went wrong (code, message, what to do) on stderr and exit 1."""
    todo = hint(code) if todo is None else todo
    err.print(
        "[red]error[/red] " + escape(f"{code}: {message}" + (f" — {todo}" if todo else "")), soft_wrap=True
    )
    sys.exit(1)


def handled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn engine and input errors into one readable line and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EngineError as exc:
            fail(exc.code, exc.message)
        except httpx.HTTPError as exc:
            fail("PLATFORM_UNAVAILABLE", str(exc))
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            ctx = click.get_current_context(silent=True)
            obj = ctx.find_object(Ctx) if ctx else None
            known = operator_error(exc, obj.db_url if obj else None)
            if known is not None:
                fail(known.code, known.message)
            # a bug: say so in one line, never a traceback at the operator
            err.print(f"[red]error[/red] INTERNAL_ERROR: {type(exc).__name__}: {exc}")
            sys.exit(2)

    return wrapper


class Commands(click.Group):
    """The `junipeer` group: a command line the program can't read (an unknown option, a number out
    of range, a date that isn't one) is BAD_INPUT like any other refused input, exit 1."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        kwargs.setdefault("prog_name", "junipeer")  # also when run as `python -m junipeer_tui.cli`
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:  # `junipeer` alone: the help, as click shows it
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "junipeer"
            fail("BAD_INPUT", exc.format_message(), f"`{where} --help` says what it takes.")
        except click.ClickException as exc:
            fail("BAD_INPUT", exc.format_message())
        except click.Abort:  # as click says it (a confirmation declined, Ctrl+C)
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


limit_option = click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(1, MAX_LIMIT), help="Rows at most."
)


def emit(rows: Iterable[dict[str, Any]], columns: list[str], as_json: bool, title: str | None = None) -> None:
    rows = list(rows)
    if as_json:
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    table = Table(title=title, show_lines=False, header_style="bold")
    for c in columns:
        table.add_column(c.replace("_", " ").title())
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    out.print(table)


def _when(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else None


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-01") from None


@click.group(cls=Commands, invoke_without_command=True)
@click.option(
    "--db", "db_url", envvar="JUNIPEER_DATABASE_URL", help="Database URL (default: SQLite in the data dir)."
)
@click.option("--integration", "-i", help="Integration name or id (needed when there are several).")
@click.version_option(package_name="junipeer-tui")
@click.pass_context
def main(ctx: click.Context, db_url: str | None, integration: str | None) -> None:
    """Junipeer: operator console and sync engine for Shopify → Fortnox integrations.

    Without a command, opens the console (`junipeer console`)."""
    ctx.obj = Ctx(db_url, integration, upgrade=ctx.invoked_subcommand in WRITERS)
    if ctx.invoked_subcommand is None:
        ctx.invoke(console)


def open_console(app: Any) -> None:
    """Run the console in this terminal (tests drive the same app with Textual's pilot instead)."""
    app.run()


@main.command()
@click.pass_obj
@handled
def console(obj: Ctx) -> None:
    """The operator console on --db (or JUNIPEER_DATABASE_URL, or the default SQLite), with the
    engine and scheduler inside. An empty workspace, or an integration not yet Live, opens on Get
    Started; -i picks the integration, and key i switches between several."""
    from junipeer_tui.app import JunipeerApp

    obj.upgrade = True  # the engine inside writes, as `junipeer run` does
    svc = obj.service
    if obj.integration_name:
        svc.integration(obj.integration_name)  # NO_INTEGRATION here, as one line, not in the console
    open_console(JunipeerApp(svc, integration_name=obj.integration_name, run_engine=True))


# -- database -----------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """The database's schema."""


@db.command("upgrade")
@click.pass_obj
@handled
def db_upgrade(obj: Ctx) -> None:
    """Bring the database's schema up to this program's (listings refuse an older one)."""
    before, now = upgrade_database(obj.db_url)
    if before is None:
        out.print(f"Created the database schema ({now}).")
    elif before == now:
        out.print(f"The database schema is up to date ({now}).")
    else:
        out.print(f"Upgraded the database schema from {before} to {now}.")


# -- sandbox ------------------------------------------------------------------------------------
@main.group()
def sandbox() -> None:
    """Local Shopify / Fortnox / Stripe imitations."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port."
)
@click.option("--orders", default=200, show_default=True, type=ORDERS)
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--time-scale", default=1.0, show_default=True, type=TIME_SCALE, help="Scales every rate-limit window."
)
@click.option("--no-limits", is_flag=True, help="Turn rate limits off.")
@handled
def sandbox_serve(host: str, port: int, orders: int, seed: int, time_scale: float, no_limits: bool) -> None:
    """Serve the sandbox; prints one JSON line with URLs, credentials and the control token, runs until
    SIGINT/SIGTERM. Warns on stderr when it listens beyond this machine (--host 0.0.0.0)."""
    from engine.sandbox.server import SandboxConfig, serve

    def announce(info: dict[str, Any]) -> None:
        url, token = info["base_url"], info["control_token"]
        click.echo(f"connect with: junipeer sandbox connect --url {url} --token {token}", err=True)

    config = SandboxConfig(
        host=host, port=port, orders=orders, seed=seed, time_scale=time_scale, limits=not no_limits
    )
    try:
        serve(config, announce)
    except OSError as exc:
        # Binding is the only place the sandbox meets the machine's network: a port taken, a host
        # this machine doesn't have, a port below 1024 without the rights.
        if isinstance(exc, socket.gaierror) or exc.errno in (
            errno.EADDRINUSE,
            errno.EADDRNOTAVAIL,
            errno.EACCES,
        ):
            raise EngineError(
                "SANDBOX_CANNOT_LISTEN", f"the sandbox cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from exc
        raise


@sandbox.command("connect")
@click.option("--url", required=True, help="The sandbox base URL printed by `junipeer sandbox serve`.")
@click.option(
    "--token",
    envvar="JUNIPEER_SANDBOX_TOKEN",
    help="The control_token printed by `junipeer sandbox serve` (or JUNIPEER_SANDBOX_TOKEN).",
)
@click.option("--name", default="Sandbox", show_default=True)
@click.option("--live", is_flag=True, help="Set it to Live mode: its scheduling rules run in `junipeer run`.")
@click.option(
    "--payouts",
    is_flag=True,
    help="Book the sandbox's payouts too: connect its Stripe, keep Shopify Payments'.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def sandbox_connect(
    obj: Ctx, url: str, token: str | None, name: str, live: bool, payouts: bool, as_json: bool
) -> None:
    """Create or update an integration whose connectors point at a running sandbox."""
    from engine.sandbox.client import fetch_info

    obj.upgrade = True
    if not token:
        raise EngineError(
            "SANDBOX_TOKEN_NEEDED",
            "the sandbox hands out its credentials only with its control token: add --token with the "
            "control_token `junipeer sandbox serve` printed (or set JUNIPEER_SANDBOX_TOKEN)",
        )
    info = fetch_info(url, token)
    integ = asyncio.run(
        obj.service.connect_sandbox(info, name, live=live, stripe=payouts, shopify_payments=payouts)
    )
    conns = obj.service.connectors(integ.id)  # type: ignore[arg-type]
    emit(
        [
            {"integration": integ.name, "side": c.side, "platform": c.platform, "status": c.status}
            for c in conns
        ],
        ["integration", "side", "platform", "status"],
        as_json,
    )
    down = [c.platform for c in conns if c.status != "connected"]
    if down:
        fail(
            "CONNECTION_TEST_FAILED",
            f"{' and '.join(down)} did not pass the connection test",
            "Check that the sandbox still runs and that --url and --token are the ones it printed; "
            "a sandbox restarted since the last connect has new credentials, so connect again.",
        )


# -- demo and run -------------------------------------------------------------------------------
@main.command()
@click.option("--headless", is_flag=True, help="No console: sync and print a summary.")
@click.option("--orders", default=200, show_default=True, type=ORDERS)
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--time-scale",
    default=0.05,
    show_default=True,
    type=TIME_SCALE,
    help="Sandbox rate-limit scale (1 = real limits).",
)
@click.option("--until-idle", is_flag=True, help="With --headless: exit after the first full sync.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def demo(
    ctx: click.Context,
    headless: bool,
    orders: int,
    seed: int,
    time_scale: float,
    until_idle: bool,
    as_json: bool,
) -> None:
    """The built-in demo: a sandbox and a seeded integration, no account needed. It keeps its own
    throwaway database (and secrets) in the data directory, whatever --db says."""
    from junipeer_tui.demo import demo_database, run_demo

    if ctx.obj.db_url:
        given = (
            "JUNIPEER_DATABASE_URL"
            if ctx.find_root().get_parameter_source("db_url") == click.core.ParameterSource.ENVIRONMENT
            else "--db"
        )
        err.print(
            f"The demo uses its own throwaway database ({demo_database()}), started afresh each time; "
            f"{given} is not used. Your database stays as it was.",
            soft_wrap=True,
        )

    run_demo(
        headless=headless,
        orders=orders,
        seed=seed,
        time_scale=time_scale,
        until_idle=until_idle,
        as_json=as_json,
    )


@main.command()
@click.option("--until-idle", is_flag=True, help="Exit when no task is pending and every flow caught up.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 64))
@click.pass_obj
@handled
def run(obj: Ctx, until_idle: bool, concurrency: int) -> None:
    """Headless mode: scheduler + worker until SIGINT/SIGTERM. Says on stderr what each task does;
    with --until-idle, exits non-zero when a task stopped."""
    from engine.service import run_headless
    from junipeer_tui.activity import ActivityLog

    if not until_idle:
        for integ in obj.service.integrations():
            if not integ.live_mode:
                click.echo(
                    f"{integ.name} is not live: its scheduling rules don't run "
                    "(Configure > General in the console, or `sandbox connect --live`).",
                    err=True,
                )

    enabled = [f for i in obj.service.integrations() for f in obj.service.flows(i.id) if f.enabled]  # type: ignore[arg-type]
    if until_idle and not enabled:
        raise EngineError(
            "NOTHING_TO_RUN", "no integration in this database has an enabled flow, so nothing was synced"
        )
    activity = ActivityLog(obj.service, _say)
    started = utcnow()
    runner = asyncio.run(
        run_headless(
            obj.service,
            until_idle=until_idle,
            say=_say,
            concurrency=concurrency,
            progress=activity.progress,
            finished=activity.finished,
        )
    )
    if not until_idle:
        return
    ran = f"{len(activity.ended)} task{'' if len(activity.ended) == 1 else 's'} run"
    if runner.stopping.is_set():  # a signal ended it: say so, and leave the rest to the next run
        _say(f"Stopped by a signal before every flow caught up ({ran}); the next run resumes the rest")
        return
    stopped, errors = activity.stopped, obj.service.errors_left(started)
    verdict = "every enabled flow has caught up" if not stopped else "not every flow caught up"
    said = [f"{len(stopped)} stopped"] + (
        [f"{errors} record{'s' if errors != 1 else ''} in error"] if errors else []
    )
    _say(f"Idle: {verdict} ({ran}, {', '.join(said)})")
    if stopped or errors:  # work that did not happen, or records that wait for a person
        if errors:
            _say("See them with `junipeer entities --status error`; fix the cause, then `junipeer retry`.")
        sys.exit(1)


# -- read-only listings -------------------------------------------------------------------------
@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def integrations(ctx: click.Context, as_json: bool) -> None:
    """Integrations in this workspace; `integrations create NAME` starts one."""
    if ctx.invoked_subcommand is not None:
        return
    obj: Ctx = ctx.obj
    rows = []
    for i in obj.service.integrations():
        conns = obj.service.connectors(i.id)  # type: ignore[arg-type]
        rows.append(
            {
                "id": i.id,
                "name": i.name,
                "connectors": " ↔ ".join(f"{c.platform} ({c.status})" for c in conns),
                "live": i.live_mode,
                "onboarding": i.onboarding_mode,
            }
        )
    emit(rows, ["id", "name", "connectors", "live", "onboarding"], as_json)


@integrations.command("create")
@click.argument("name")
@click.pass_obj
@handled
def integrations_create(obj: Ctx, name: str) -> None:
    """Start an integration on your own accounts (in onboarding, its flows off)."""
    obj.upgrade = True
    integ = obj.service.create_integration(name)
    out.print(f"Created integration {escape(integ.name)} (id {integ.id}), in onboarding.")
    out.print("Next: `junipeer connect shopify`, `junipeer connect fortnox`, `junipeer settings`.")


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def flows(ctx: click.Context, as_json: bool) -> None:
    """Flows of the integration, with Time History; `flows enable|disable FLOW` turns one on or off."""
    if ctx.invoked_subcommand is not None:
        return
    obj: Ctx = ctx.obj
    svc = obj.service
    rows = []
    for f in svc.flows(obj.integration_id()):
        hist = svc.time_history(f.id)  # type: ignore[arg-type]
        rows.append(
            {
                "key": f.key,
                "name": f.name,
                "action": f.action,
                "enabled": f.enabled,
                "manual": f.manual_allowed,
                "last_synced": _when(f.last_synced_at),
                "last_loaded": _when(hist.last_loaded),
            }
        )
    emit(rows, ["key", "name", "action", "enabled", "last_synced", "last_loaded"], as_json)


@flows.command("enable")
@click.argument("flow")
@click.pass_obj
@handled
def flows_enable(obj: Ctx, flow: str) -> None:
    """Turn a flow on (refused while the Fortnox grant lacks a scope it needs)."""
    obj.upgrade = True
    done = obj.service.enable_flow(obj.integration_id(), flow, True)
    out.print(f"{done.name} ({done.key}) is enabled.")


@flows.command("disable")
@click.argument("flow")
@click.pass_obj
@handled
def flows_disable(obj: Ctx, flow: str) -> None:
    """Turn a flow off: no run picks it up, Export One included."""
    obj.upgrade = True
    done = obj.service.enable_flow(obj.integration_id(), flow, False)
    out.print(f"{done.name} ({done.key}) is disabled.")


@main.command()
@click.argument("state", type=click.Choice(["on", "off"]))
@click.pass_obj
@handled
def live(obj: Ctx, state: str) -> None:
    """Live mode: `on` lets the scheduling rules run (refused until connected, set up and a flow is
    enabled), `off` returns the integration to onboarding."""
    obj.upgrade = True
    integ = obj.service.set_live(obj.integration_id(), state == "on")
    said = "Live: its scheduling rules run in `junipeer run`" if integ.live_mode else "in onboarding"
    out.print(f"{escape(integ.name)} is {said}.")


# -- settings -------------------------------------------------------------------------------------
def _setting_value(text: str) -> Any:
    """A typed value: JSON when it reads as JSON (true, 30, {"a": "b"}), else the text itself;
    nothing (`KEY=`) clears the field, as an emptied field in the console does."""
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


@main.command()
@click.argument("category", required=False)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="Save a field of CATEGORY (repeatable); MAPPING.NAME=VALUE sets one entry of a mapping.",
)
@click.option(
    "--import",
    "import_file",
    metavar="FILE.csv",
    help="sales_accounts: replace the OSS mapping with a CSV file (format in README.md).",
)
@click.option("--export", "export_csv", is_flag=True, help="sales_accounts: print the OSS mapping as CSV.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def settings(
    obj: Ctx,
    category: str | None,
    assignments: tuple[str, ...],
    import_file: str | None,
    export_csv: bool,
    as_json: bool,
) -> None:
    """Settings by category, as Configure > Settings shows them; `settings CATEGORY --set KEY=VALUE`
    saves with the same checks (a required field may not be left empty). `settings sales_accounts
    --import FILE.csv` replaces the OSS mapping with a file (nothing is saved while a line is bad),
    `--export` prints it in that format."""
    from engine.mapping import oss_csv
    from engine.mapping import settings as settings_mod

    known = {c["key"]: c for c in settings_mod.describe()}
    if category is not None and category not in known:
        raise EngineError("BAD_INPUT", f"No settings category {category!r}; categories: {', '.join(known)}")
    if (import_file or export_csv) and category != "sales_accounts":
        raise click.UsageError("--import and --export are for the sales_accounts category")
    obj.upgrade = bool(assignments or import_file)
    svc = obj.service
    iid = obj.integration_id()
    if export_csv:
        click.echo(svc.export_oss_mapping(iid), nl=False)
        return
    if import_file:
        try:
            saved = svc.import_oss_mapping(iid, oss_csv.read(import_file))
        except oss_csv.OssCsvError as exc:
            for bad in exc.lines:
                err.print(escape(f"  {bad}"), soft_wrap=True)
            fail(
                exc.code,
                f"{len(exc.lines)} bad line(s) in {import_file}, nothing was saved",
                "Fix the lines above in the file and import it again.",
            )
        out.print(f"Imported {len(saved.oss_accounts)} OSS mapping entries from {escape(import_file)}.")
    if assignments:
        if category is None:
            raise click.UsageError("--set needs a CATEGORY")
        current = getattr(svc.settings(iid), category).model_dump(mode="json")
        values: dict[str, Any] = {}
        for item in assignments:
            key, sep, text = item.partition("=")
            if not sep or not key.strip():
                raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
            field, dot, entry = key.strip().partition(".")
            if dot:
                mapping = values.get(field, current.get(field))
                if not isinstance(mapping, dict):
                    raise EngineError("BAD_INPUT", f"{category}.{field} is not a mapping")
                values[field] = {**mapping, entry: text}
            else:
                values[field] = _setting_value(text)
        svc.save_settings(iid, category, values)
        out.print(f"Saved {known[category]['title']}.")
    saved = svc.settings(iid)
    missing = {(cat, name) for cat, name, _ in svc.missing_settings(iid)}
    rows = [
        {
            "category": cat,
            "field": f["name"],
            "title": f["title"],
            "value": getattr(getattr(saved, cat), f["name"]),
            "required": f["required"],
            "missing": (cat, f["name"]) in missing,
        }
        for cat, spec in known.items()
        if category in (None, cat)
        for f in spec["fields"]
    ]
    if as_json:
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    for row in rows:
        value = row["value"]
        row["value"] = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value
        row["required"] = "required, not saved" if row["missing"] else ("required" if row["required"] else "")
    emit(rows, ["category", "field", "value", "required", "title"], False)


# -- connecting -----------------------------------------------------------------------------------
@main.group()
def connect() -> None:
    """Connect the integration's platforms: Shopify, Fortnox, Stripe (real hosts by default)."""


def _connected(obj: Ctx, result: Any, as_json: bool) -> None:
    conn = result.connector
    if as_json:
        click.echo(
            json.dumps(
                {
                    "platform": conn.platform,
                    "connection": conn.connection_name,
                    "base_url": conn.base_url,
                    "status": conn.status,
                    "message": result.message,
                }
            )
        )
    else:
        out.print(
            escape(f"{conn.platform.title()} ({conn.connection_name}, {conn.base_url}): {result.message}")
        )
    if not result.ok:
        fail(
            "CONNECTION_TEST_FAILED",
            f"{conn.platform} did not pass the connection test",
            "Read the message above, fix the cause (credentials, scopes, URL), then connect again.",
        )


connection_option = click.option(
    "--connection",
    default="default",
    show_default=True,
    help="Name of this credential set (e.g. test, production); a saved one's name alone switches to it.",
)


@connect.command("shopify")
@click.option("--shop", help="The shop's admin domain, your-shop.myshopify.com.")
@click.option("--api-version", help="Admin API version, e.g. 2026-07 (default: a current stable version).")
@click.option(
    "--access-token",
    envvar="JUNIPEER_SHOPIFY_ACCESS_TOKEN",
    help="A custom app's Admin API token (or JUNIPEER_SHOPIFY_ACCESS_TOKEN).",
)
@click.option("--client-id", help="A Dev Dashboard app's client id (with --client-secret).")
@click.option(
    "--client-secret",
    envvar="JUNIPEER_SHOPIFY_CLIENT_SECRET",
    help="... its secret (or JUNIPEER_SHOPIFY_CLIENT_SECRET).",
)
@click.option(
    "--webhook-secret", envvar="JUNIPEER_SHOPIFY_WEBHOOK_SECRET", help="The app's webhook signing secret."
)
@click.option("--base-url", help="Override https://{shop}/admin/api/{version}/ (a proxy, the sandbox).")
@connection_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def connect_shopify(
    obj: Ctx,
    shop: str | None,
    api_version: str | None,
    access_token: str | None,
    client_id: str | None,
    client_secret: str | None,
    webhook_secret: str | None,
    base_url: str | None,
    connection: str,
    as_json: bool,
) -> None:
    """Connect Shopify: the shop domain and either an Admin API access token or a Dev Dashboard
    app's client id + secret. Tests the connection: the shop, its orders and the granted scopes."""
    obj.upgrade = True
    svc, iid = obj.service, obj.integration_id()
    if not (access_token or client_id or client_secret):
        result = asyncio.run(svc.use_connection(iid, "shopify", connection))
    else:
        if not shop:
            raise click.UsageError("--shop is needed (your-shop.myshopify.com)")
        result = asyncio.run(
            svc.connect_shopify(
                iid,
                shop=shop,
                api_version=api_version,
                access_token=access_token,
                client_id=client_id,
                client_secret=client_secret,
                webhook_secret=webhook_secret,
                url=base_url,
                connection=connection,
            )
        )
    _connected(obj, result, as_json)


@connect.command("fortnox")
@click.option("--client-id", help="The Fortnox app's client id (developer portal).")
@click.option(
    "--client-secret",
    envvar="JUNIPEER_FORTNOX_CLIENT_SECRET",
    help="Its secret (or JUNIPEER_FORTNOX_CLIENT_SECRET).",
)
@click.option(
    "--redirect-uri",
    default="http://127.0.0.1:8765/callback",
    show_default=True,
    help="Registered with the app; the listener waits there.",
)
@click.option(
    "--no-browser", is_flag=True, help="Don't open a browser or listen: paste the redirect URL (or code)."
)
@click.option(
    "--service-account", is_flag=True, help="Consent as a service account (a system administrator)."
)
@click.option("--tenant-id", help="A service account's TenantId: client credentials, no browser.")
@click.option("--base-url", help="Override https://api.fortnox.se/3/.")
@click.option("--auth-url", help="Override https://apps.fortnox.se/oauth-v1/auth.")
@click.option("--token-url", help="Override https://apps.fortnox.se/oauth-v1/token.")
@click.option(
    "--timeout",
    default=600,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds to wait for consent.",
)
@connection_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def connect_fortnox(
    obj: Ctx,
    client_id: str | None,
    client_secret: str | None,
    redirect_uri: str,
    no_browser: bool,
    service_account: bool,
    tenant_id: str | None,
    base_url: str | None,
    auth_url: str | None,
    token_url: str | None,
    timeout: int,
    connection: str,
    as_json: bool,
) -> None:
    """Connect Fortnox by signing in: prints (and opens) the authorize URL, receives the redirect on
    127.0.0.1 (or, with --no-browser, reads the pasted redirect URL), checks its state and exchanges
    the code. The consent asks for the scopes the flows need. A service account with --tenant-id
    takes tokens by client credentials instead."""
    from engine.platforms import fortnox_oauth

    obj.upgrade = True
    svc, iid = obj.service, obj.integration_id()
    if not client_id and not client_secret:
        _connected(obj, asyncio.run(svc.use_connection(iid, "fortnox", connection)), as_json)
        return
    if not client_id or not client_secret:
        raise click.UsageError("give --client-id and --client-secret (or JUNIPEER_FORTNOX_CLIENT_SECRET)")
    urls = {"url": base_url, "auth_url": auth_url, "token_url": token_url, "connection": connection}
    if tenant_id:
        result = asyncio.run(
            svc.connect_fortnox(
                iid, client_id=client_id, client_secret=client_secret, tenant_id=tenant_id, **urls
            )
        )
        _connected(obj, result, as_json)
        return
    address, state = svc.fortnox_authorization(
        iid, client_id=client_id, redirect_uri=redirect_uri, auth_url=auth_url, service=service_account
    )
    _say("Open this address, sign in to Fortnox and approve the access asked for:")
    click.echo(address)
    sys.stdout.flush()
    if no_browser:
        _say("Then paste the address the browser was sent to (or just the code) and press Enter:")
        pasted = sys.stdin.readline()
        code = fortnox_oauth.code_from(pasted, state)
    else:
        import webbrowser

        webbrowser.open(address)
        _say(f"Waiting for Fortnox to send the browser back to {redirect_uri} …")
        code = fortnox_oauth.wait_for_redirect(redirect_uri, state, timeout)
    result = asyncio.run(
        svc.connect_fortnox(
            iid,
            client_id=client_id,
            client_secret=client_secret,
            code=code,
            redirect_uri=redirect_uri,
            **urls,
        )
    )
    _connected(obj, result, as_json)


@connect.command("stripe")
@click.option(
    "--api-key",
    envvar="JUNIPEER_STRIPE_API_KEY",
    help="A restricted key (rk_…) (or JUNIPEER_STRIPE_API_KEY).",
)
@click.option("--base-url", help="Override https://api.stripe.com/v1/.")
@connection_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def connect_stripe(
    obj: Ctx, api_key: str | None, base_url: str | None, connection: str, as_json: bool
) -> None:
    """Connect Stripe (payouts) with a restricted key that may read payouts and balance
    transactions; a test call checks it."""
    obj.upgrade = True
    svc, iid = obj.service, obj.integration_id()
    if not api_key:
        result = asyncio.run(svc.use_connection(iid, "stripe", connection))
    else:
        result = asyncio.run(svc.connect_stripe(iid, api_key=api_key, url=base_url, connection=connection))
    _connected(obj, result, as_json)


@connect.command("remove")
@click.argument("platform", type=click.Choice(["shopify", "fortnox", "stripe"]))
@click.option("--connection", required=True, help="The saved credential set to forget.")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
@click.pass_obj
@handled
def connect_remove(obj: Ctx, platform: str, connection: str, yes: bool) -> None:
    """Forget a saved connection of PLATFORM and delete its credentials from the secret store.
    The connection in use can't be removed: switch to another first."""
    svc, iid = obj.service, obj.integration_id()
    if not yes:
        if not sys.stdin.isatty():
            fail(
                "CONFIRMATION_NEEDED",
                f"removing deletes the {platform} connection {connection!r} and its credentials",
                "add --yes to remove it without a terminal to confirm on",
            )
        click.confirm(f"Remove the {platform} connection {connection!r} and its credentials?", abort=True)
    conn = svc.remove_connection(iid, platform, connection)
    left = ", ".join(svc.connection_names(conn))
    click.echo(
        f"Removed the {platform} connection {connection!r}; left: {left} (in use: {conn.connection_name})"
    )


def _task_row(t: Any) -> dict[str, Any]:
    duration = (t.finished_at - t.started_at).total_seconds() if t.finished_at and t.started_at else None
    return {
        "id": t.id,
        "kind": t.kind,
        "trigger": t.trigger,
        "status": t.status,
        "total": t.total,
        "synced": t.synced,
        "failed": t.failed,
        "skipped": t.skipped,
        "started": _when(t.started_at),
        "duration_s": round(duration, 2) if duration is not None else None,
        "message": t.message,
    }


def _run_tasks(obj: Ctx, tasks: list[Any], as_json: bool) -> list[Any]:
    """Run enqueued manual tasks now, one after the other, with a progress bar each on a terminal.
    A task handed back by Ctrl+C ends the run: the ones after it wait for `junipeer run` too."""
    svc = obj.service
    results: list[Any] = []

    def run_all(progress_for: Callable[[Any], Any]) -> list[Any]:
        for task in tasks:
            results.append(asyncio.run(svc.run_now(task, progress_for(task), say=_say)))
            if results[-1].status == "pending":
                break
        return results

    if not sys.stderr.isatty() or as_json:
        return run_all(lambda _task: None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as bar:

        def progress_for(task: Any) -> Any:
            handle = bar.add_task(f"Task {task.id}", total=None)

            def progress(_tid: int, counters: dict[str, int]) -> None:
                bar.update(handle, total=counters["total"] or None, completed=counters["processed"])

            return progress

        return run_all(progress_for)


def _task_line(result: Any) -> str:
    row = _task_row(result)
    said = counts_text(result.synced, result.failed, result.skipped)
    news = message_beyond_counts(result)
    tail = f" — {news}" if news else ""
    return f"Task {row['id']} {row['status']}: {said} ({row['duration_s']} s){tail}"


def _exit_for(results: list[Any]) -> None:
    """Exit non-zero when the tasks did not all do their work, with a last line that says why."""
    handed_back = [r for r in results if r.status == "pending"]
    stopped = [r for r in results if r.status not in ("pending", "completed")]
    failed = sum(r.failed for r in results)
    if handed_back:
        ids = ", ".join(str(r.id) for r in handed_back)
        _say(f"Not finished: task {ids} was handed back as pending; `junipeer run` resumes it.")
        # 130 after Ctrl+C, as shells count an interrupt; 1 when an outage paused it
        sys.exit(130 if all(r.not_before is None for r in handed_back) else 1)
    if stopped:
        _say(f"Failed: task {stopped[0].id} stopped; read why with `junipeer logs --task {stopped[0].id}`.")
        sys.exit(1)
    if failed:
        _say(
            f"Failed: {failed} record{'s' if failed != 1 else ''} in error; "
            "see `junipeer entities --status error`, fix the cause, then `junipeer retry`."
        )
        sys.exit(1)


def _run_task(obj: Ctx, task: Any, as_json: bool) -> None:
    """Run an enqueued manual task now, with a progress bar on a terminal."""
    [result] = _run_tasks(obj, [task], as_json)
    if as_json:
        click.echo(json.dumps(_task_row(result), default=str))
    else:
        out.print(_task_line(result))
    _exit_for([result])


def _say(line: str) -> None:
    click.echo(line, err=True)


@main.command("export-one")
@click.argument("flow")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def export_one(obj: Ctx, flow: str, ref: str, as_json: bool) -> None:
    """Sync one record by reference (order name #1001, number or id)."""
    svc = obj.service
    task = svc.export_one(svc.flow(obj.integration_id(), flow), ref)
    _run_task(obj, task, as_json)


@main.command("export-many")
@click.argument("flow")
@click.option("--from", "start", required=True, type=_date, help="First day (YYYY-MM-DD), by creation date.")
@click.option("--to", "end", required=True, type=_date, help="Last day (YYYY-MM-DD), inclusive.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def export_many(obj: Ctx, flow: str, start: date, end: date, as_json: bool) -> None:
    """Sync every record created in a date range (backfill)."""
    svc = obj.service
    task = svc.export_many(svc.flow(obj.integration_id(), flow), start, end)
    _run_task(obj, task, as_json)


@main.command()
@click.option("--status", type=click.Choice(["pending", "running", "completed", "stopped"]))
@click.option("--flow")
@limit_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def tasks(obj: Ctx, status: str | None, flow: str | None, limit: int, as_json: bool) -> None:
    """Tasks, newest first."""
    svc = obj.service
    iid = obj.integration_id()
    flow_id = svc.flow(iid, flow).id if flow else None
    rows = [_task_row(t) for t in svc.tasks(iid, status=status, flow_id=flow_id, limit=limit)]
    emit(
        rows,
        ["id", "kind", "trigger", "status", "total", "synced", "failed", "skipped", "started", "duration_s"],
        as_json,
    )


@main.command()
@click.option("--ref", help="Reference such as #1001.")
@click.option("--level", type=click.Choice(["info", "warning", "error"]))
@click.option("--task", "task_id", type=ID)
@click.option("--text")
@limit_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def logs(
    obj: Ctx,
    ref: str | None,
    level: str | None,
    task_id: int | None,
    text: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Log lines, newest first."""
    rows = [
        {
            "id": r.id,
            "at": _when(r.at),
            "level": r.level,
            "code": r.code,
            "reference": r.reference,
            "task": r.task_id,
            "message": r.message,
        }
        for r in obj.service.logs(
            obj.integration_id(), ref=ref, level=level, task_id=task_id, text=text, limit=limit
        )
    ]
    emit(rows, ["at", "level", "code", "reference", "task", "message"], as_json)


@main.command()
@click.option("--status", type=click.Choice(["pending", "synced", "error"]))
@click.option("--ref")
@click.option("--type", "entity_type")
@limit_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def entities(
    obj: Ctx, status: str | None, ref: str | None, entity_type: str | None, limit: int, as_json: bool
) -> None:
    """Entities: what was synced, and what failed with which code."""
    rows = [
        {
            "id": e.id,
            "type": e.entity_type,
            "status": e.status,
            "retriever_reference": e.retriever_reference,
            "storer_reference": e.storer_reference,
            "children": e.children,
            "last_updated": _when(e.last_updated),
            "error_code": e.error_code,
            "error_message": e.error_message,
        }
        for e in obj.service.entities(
            obj.integration_id(), status=status, ref=ref, entity_type=entity_type, limit=limit
        )
    ]
    emit(
        rows,
        [
            "id",
            "type",
            "status",
            "retriever_reference",
            "storer_reference",
            "children",
            "last_updated",
            "error_code",
        ],
        as_json,
    )


@main.command()
@click.option("--type", "entity_type")
@click.option("--search")
@limit_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def references(obj: Ctx, entity_type: str | None, search: str | None, limit: int, as_json: bool) -> None:
    """Source ↔ target id mappings."""
    rows = [
        {
            "id": r.id,
            "type": r.entity_type,
            "source_id": r.source_id,
            "source_label": r.source_label,
            "target_id": r.target_id,
            "origin": r.origin,
        }
        for r in obj.service.references(
            obj.integration_id(), entity_type=entity_type, search=search, limit=limit
        )
    ]
    emit(rows, ["id", "type", "source_label", "source_id", "target_id", "origin"], as_json)


@main.command("time-history")
@click.argument("flow", required=False)
@click.option("--set", "set_to", help="Move last loaded to this date/time (ISO), re-processing from there.")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def time_history(obj: Ctx, flow: str | None, set_to: str | None, yes: bool, as_json: bool) -> None:
    """Last loaded per flow; `FLOW --set DATE` moves it."""
    obj.upgrade = bool(set_to)
    svc = obj.service
    iid = obj.integration_id()
    if set_to:
        if not flow:
            raise click.UsageError("--set needs a FLOW")
        target = svc.flow(iid, flow)
        try:
            when = datetime.fromisoformat(set_to)
        except ValueError:
            raise click.BadParameter(f"{set_to!r} is not a date like 2026-11-01") from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        if not yes:
            if not sys.stdin.isatty():  # nobody to ask: a script must say it means it
                raise EngineError(
                    "CONFIRMATION_NEEDED",
                    "moving Time History forgets the windows loaded after that date; "
                    "add --yes to move it without a terminal to confirm on",
                )
            n = asyncio.run(svc.reprocess_estimate(target, when))
            click.confirm(
                f"Move {target.name} Time History to {when:%Y-%m-%d %H:%M}? The next run re-processes "
                f"about {n} records.",
                abort=True,
            )
        forgotten = svc.set_time_history(target, when)
        out.print(
            f"{target.name}: last loaded is now {when:%Y-%m-%d %H:%M} UTC ({forgotten} windows forgotten)"
        )
        return
    rows = []
    for f in [svc.flow(iid, flow)] if flow else svc.time_history_flows(iid):
        hist = svc.time_history(f.id)  # type: ignore[arg-type]
        windows = svc.time_windows(f.id, limit=5)  # type: ignore[arg-type]
        rows.append(
            {
                "flow": f.key,
                "direction": "Shopify → Fortnox",
                "last_loaded": _when(hist.last_loaded),
                "lookback_s": hist.lookback_seconds,
                "recent_windows": "; ".join(
                    f"{_when(w.start)} → {_when(w.end)} ({w.records})" for w in windows
                ),
            }
        )
    emit(rows, ["flow", "direction", "last_loaded", "lookback_s", "recent_windows"], as_json)


@main.command()
@click.argument("entity_id", type=ID, required=False)
@click.option(
    "--status", type=click.Choice(["pending", "synced", "error"]), help="Retry every entity in this status."
)
@click.option("--code", help="... whose error has this code (ARTICLE_NOT_FOUND).")
@click.option("--since", type=_date, help="... that changed on or after this day (YYYY-MM-DD, UTC).")
@click.option("--type", "entity_type", help="... of this entity type (order).")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def retry(
    obj: Ctx,
    entity_id: int | None,
    status: str | None,
    code: str | None,
    since: date | None,
    entity_type: str | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Re-sync one entity, or with --status every entity that matches (after fixing the cause of
    their errors): `retry 42`, `retry --status error --code ARTICLE_NOT_FOUND --since 2026-11-20`."""
    svc = obj.service
    if entity_id is not None:
        if status or code or since or entity_type:
            raise click.UsageError("give an ENTITY_ID or --status (with --code, --since, --type), not both")
        _run_task(obj, svc.retry_entity(entity_id), as_json)
        return
    if not status:
        raise click.UsageError("give an ENTITY_ID, or --status (with --code, --since, --type) to retry many")
    iid = obj.integration_id()
    since_at = datetime.combine(since, datetime.min.time(), UTC) if since else None
    selection = EntitySelection(entity_type=entity_type, status=status, code=code, since=since_at)
    said = ", ".join(
        [f"with status {status}"]
        + ([f"code {code.strip().upper()}"] if code else [])
        + ([f"changed since {since}"] if since else [])
        + ([f"type {entity_type}"] if entity_type else [])
    )
    count = svc.count_retryable(iid, selection)
    if not count:
        out.print(f"Nothing to retry: no entity {said}.")
        return
    if not yes:
        if not sys.stdin.isatty():  # nobody to ask: a script must say it means it
            raise EngineError(
                "CONFIRMATION_NEEDED",
                f"retrying re-syncs {count} entities {said}; add --yes to retry them without a terminal "
                "to confirm on",
            )
        click.confirm(f"Retry {count} entities {said}?", abort=True)
    results = _run_tasks(obj, svc.retry_entities(iid, selection), as_json)
    if as_json:
        click.echo(json.dumps([_task_row(r) for r in results], default=str))
    else:
        for result in results:
            out.print(_task_line(result))
        total = counts_text(*(sum(getattr(r, n) for r in results) for n in ("synced", "failed", "skipped")))
        tasks_said = "1 task" if len(results) == 1 else f"{len(results)} tasks"
        out.print(f"Retried {sum(r.total for r in results)} entities in {tasks_said}: {total}")
    _exit_for(results)


@main.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@handled
def explain(obj: Ctx, ref: str, as_json: bool) -> None:
    """Why a source record is (or is not) in the target."""
    exp = asyncio.run(obj.service.explain(obj.integration_id(), ref))
    if as_json:
        click.echo(json.dumps(exp.as_dict(), default=str, indent=2))
        return
    out.print(f"[bold]{exp.ref}[/bold]  {exp.verdict}")
    out.print(exp.summary)
    for line in exp.as_dict()["logs"][:10]:
        out.print(f"  {line}")


if __name__ == "__main__":
    main()
