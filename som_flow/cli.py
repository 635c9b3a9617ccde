"""The `som-flow` console script: thin commands that call services."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from som_flow.errors import SomFlowError
from som_flow.processes import KIND_TYPES


def _create_app() -> Flask:
    from som_flow import create_app

    return create_app()


def _fail(exc: SomFlowError) -> None:
    click.echo(f"error: {exc.detail}", err=True)
    for field, messages in exc.errors.items():
        click.echo(f"  {field}: {'; '.join(messages)}", err=True)
    sys.exit(1)


class _Command(click.Command):
    """A command whose refusal (a SomFlowError) is a clear message and exit status 1: the CLI's one edge."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SomFlowError as exc:
            _fail(exc)


class _Group(click.Group):
    command_class = _Command


@click.command("init", cls=_Command)
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database to the newest schema, with default catalogs and kinds."""
    from flask_migrate import upgrade

    from som_flow.services.catalogs import seed_defaults
    from som_flow.services.kinds import install_shipped_kinds

    upgrade()
    seed_defaults()
    installed = install_shipped_kinds()
    click.echo(f"database ready at {current_app.config['SQLALCHEMY_DATABASE_URI']}")
    if installed:
        click.echo(f"installed kinds: {', '.join(installed)}")


@click.command("demo", cls=_Command)
@with_appcontext
def demo_command() -> None:
    """Load realistic demo data (idempotent)."""
    from som_flow.services.demo import DEMO_PASSWORD, load_demo

    users = load_demo()
    click.echo(f"demo data loaded; log in with any of these (password {DEMO_PASSWORD}):")
    for email, roles in users:
        click.echo(f"  {email:32} {', '.join(roles)}")


@click.command("serve", cls=_Command)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Do not run the in-process reminder scheduler.")
@with_appcontext
def serve_command(host: str, port: int, threads: int, no_scheduler: bool) -> None:
    """Serve the web UI and API with waitress (and the reminder scheduler in-process)."""
    from waitress import serve

    app = current_app._get_current_object()
    scheduler = None
    if not no_scheduler:
        from som_flow.scheduler import start_background_scheduler

        scheduler = start_background_scheduler(app)
    from som_flow import tune_collector

    tune_collector(app)
    click.echo(f"som_flow serving on http://{host}:{port}/", err=False)
    sys.stdout.flush()
    try:
        serve(app, host=host, port=port, threads=threads, ident="som_flow")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def _scheduler_name(ctx, param, value: str | None) -> str | None:
    """Refuse at start a name the lease column cannot hold (exit code 2), rather than fail every tick."""
    from som_flow.services.reminders import check_owner

    try:
        return None if value is None else check_owner(value)
    except SomFlowError as exc:
        raise click.BadParameter(exc.errors["name"][0]) from None


@click.command("scheduler", cls=_Command)
@click.option("--name", default=None, callback=_scheduler_name, help="Lease owner name (default host:pid).")
@click.option("--metrics-port", default=None, type=click.IntRange(1, 65535),
              help="Serve this process's Prometheus metrics on this port (no login: loopback by default).")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address for --metrics-port.")
@with_appcontext
def scheduler_command(name: str | None, metrics_port: int | None, metrics_host: str) -> None:
    """Run the reminder scheduler alone (any number may run at once)."""
    from som_flow.scheduler import run_blocking_scheduler

    run_blocking_scheduler(current_app._get_current_object(), name=name, metrics_port=metrics_port,
                           metrics_host=metrics_host)


@click.group("reminders", cls=_Group)
def reminders_group() -> None:
    """Reminders."""


@reminders_group.command("fire")
@click.option("--at", "at", default=None, help="Deliver what is due at this ISO time (default: now).")
@with_appcontext
def reminders_fire(at: str | None) -> None:
    """Deliver every reminder due now (or at --at) exactly once."""
    from som_flow.services.reminders import fire_due_reminders

    when = None
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise click.BadParameter("use an ISO 8601 time with an offset, e.g. 2026-03-02T08:00:00+01:00")
        if when.tzinfo is None:
            raise click.BadParameter("give the time with an offset, e.g. 2026-03-02T08:00:00+01:00")
    fired = fire_due_reminders(at=when)  # default owner host:pid, so concurrent runs hold distinct leases
    click.echo(f"fired {fired}")


@click.group("users", cls=_Group)
def users_group() -> None:
    """Users."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True, help="admin, manager, csr, rep, scheduler")
@click.option("--name", default=None)
@click.option("--password", default=None)
@click.option("--timezone", default="UTC")
@with_appcontext
def users_create(email: str, roles: tuple[str, ...], name: str | None, password: str | None,
                 timezone: str) -> None:
    """Make a user."""
    from som_flow.services.users import create_user

    all_roles = [r.strip() for value in roles for r in value.split(",") if r.strip()]
    user = create_user(email, name or email.split("@")[0].title(), all_roles, password=password,
                       timezone=timezone)
    click.echo(f"created user {user.id} {user.email} ({', '.join(user.roles)})")


@users_group.command("password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def users_password(email: str, password: str) -> None:
    """Set a user's password; their page sessions end."""
    from som_flow.services.users import find_user_by_email, set_password

    set_password(find_user_by_email(email).id, password)
    click.echo(f"password changed for {email}; their page sessions are ended")


@click.group("tokens", cls=_Group)
def tokens_group() -> None:
    """API tokens."""


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", default="cli")
@with_appcontext
def tokens_create(email: str, name: str) -> None:
    """Print a new API token for EMAIL (only its hash is stored)."""
    from som_flow.services.users import create_token

    token = create_token(email, name)
    click.echo(f"token for {email}: {token}")


@click.group("kinds", cls=_Group)
def kinds_group() -> None:
    """Opportunity kinds."""


@kinds_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", required=True)
@click.option("--name", default=None)
@click.option("--type", "kind_type", default="custom", type=click.Choice(KIND_TYPES))
@with_appcontext
def kinds_import(file: Path, key: str, name: str | None, kind_type: str) -> None:
    """Store FILE.bpmn as a new version of kind KEY (creating the kind if needed)."""
    from som_flow.services.kinds import import_kind_bpmn

    version = import_kind_bpmn(key, file.read_bytes(), name=name, kind_type=kind_type)
    click.echo(f"kind {key} version {version.number} stored")


@kinds_group.command("migrate")
@click.argument("key")
@with_appcontext
def kinds_migrate(key: str) -> None:
    """Move open opportunities of KEY to its current version where their stage exists there."""
    from som_flow.services.kinds import migrate_opportunities

    moved, left = migrate_opportunities(key)
    click.echo(f"moved {len(moved)} opportunities to the current version")
    for opp_id, why in left.items():
        click.echo(f"  left {opp_id}: {why}")


@click.group("forecast", cls=_Group)
def forecast_group() -> None:
    """The forecast's weekly snapshots."""


@forecast_group.command("snapshot")
@click.option("--currency", help="ISO 4217 code (default: SOM_FLOW_DEFAULT_CURRENCY)")
@click.option("--force", is_flag=True, help="take one even if this week already has one")
@with_appcontext
def forecast_snapshot(currency: str | None, force: bool) -> None:
    """Copy the next twelve months' forecast (the scheduler does this weekly)."""
    from som_flow.services.forecast import take_snapshot

    snapshot = take_snapshot(currency.upper() if currency else None, force=force)
    if snapshot is None:
        click.echo("this week's snapshot exists already (use --force for another)")
    else:
        click.echo(f"snapshot {snapshot.id}: weighted {snapshot.weighted_total} {snapshot.currency} "
                   f"for {snapshot.period_start}..{snapshot.period_end}")


@click.group("import", cls=_Group)
def import_group() -> None:
    """CSV imports (all or nothing)."""


@import_group.command("customers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@with_appcontext
def import_customers(file: Path, dry_run: bool) -> None:
    """Create the customers and jobs of FILE (CSV with a header row, as /customers.csv exports)."""
    from som_flow.services.csv_io import decode, import_customers

    report = import_customers(None, decode(file.read_bytes()), dry_run=dry_run)
    failed = [r for r in report["rows"] if not r["ok"]]
    for row in failed:
        for field, messages in row["errors"].items():
            click.echo(f"line {row['line']}: {field}: {'; '.join(messages)}", err=True)
    ok = len(report["rows"]) - len(failed)
    if failed:
        click.echo(f"{ok} rows ok, {len(failed)} with errors; nothing imported", err=True)
        sys.exit(1)
    click.echo(f"{ok} rows ok; dry run, nothing written" if dry_run else f"{report['created']} customers created")


COMMANDS = [init_command, demo_command, serve_command, scheduler_command, reminders_group, users_group,
            tokens_group, kinds_group, forecast_group, import_group]


def register_cli(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


cli = FlaskGroup(name="som-flow", create_app=_create_app, add_default_commands=False,
                 load_dotenv=False, set_debug_flag=False, help="som_flow: sales processes as BPMN.")
for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """The console script: bad configuration is one clear line, not a traceback."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    try:
        cli.main(prog_name="som-flow")
    except OperationalError as exc:
        click.echo(f"error: cannot use the database ({str(exc.orig).strip().splitlines()[0]}); "
                   "check SOM_FLOW_DATABASE_URL", err=True)
        sys.exit(2)
    except ArgumentError as exc:
        click.echo(f"error: SOM_FLOW_DATABASE_URL is not a database URL ({exc})", err=True)
        sys.exit(2)
    except PermissionError as exc:
        click.echo(f"error: cannot write {exc.filename}: permission denied (the instance folder or database)",
                   err=True)
        sys.exit(2)
