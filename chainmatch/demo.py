"""`chainmatch demo`: one process that migrates, seeds and serves the platform on SQLite.

The demo has a database of its own (instance/demo.sqlite, whatever DATABASE_URL says) and is the only
mode that accepts the demo accounts (…@demo.local, password demo-password): a real instance refuses
them at sign-in and `chainmatch seed --demo-accounts` refuses to create them.
"""
import os

import click
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from chainmatch import create_app
from chainmatch.scheduler import start_scheduler
from core.extensions import db
from events import demo as events_demo
from events import demo_online as events_demo_online
from policies import demo as policies_demo
from seeds.loader import load_all

DEMO_ACCOUNTS = [
    ("sme@demo.local", "企业 / SME"),
    ("bank@demo.local", "银行 / bank"),
    ("organiser@demo.local", "主办单位 / organiser (杭州)"),
    ("admin@demo.local", "管理员 / administrator"),
]
DEMO_PASSWORD = "demo-password"


def prepare_demo_database() -> dict:
    """Upgrade the schema to the newest migration and load seeds and demo accounts (idempotent)."""
    upgrade()
    counts = load_all(db.session, demo_accounts=True)
    extra = _load_demo_activity()
    db.session.commit()
    return {**counts, **extra}


def _load_demo_activity() -> dict:
    """The demo content of the domains that have some (events, the online half, policies)."""
    loaded = {}
    for module in (events_demo, events_demo_online, policies_demo):
        loaded.update(module.load_demo(db.session) or {})
    return loaded


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Prepare the database and stop (used by tests).")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Create and migrate the demo's own SQLite database, load seeds and demo accounts, and serve."""
    os.environ["CHAINMATCH_DEMO"] = "1"  # the app (and the embedded scheduler's) picks the demo's database
    app = create_app()
    with app.app_context():
        _prepare_and_serve(app, host, port, no_serve)


def _prepare_and_serve(app, host: str, port: int, no_serve: bool) -> None:
    counts = prepare_demo_database()
    click.echo("Database: " + app.config["SQLALCHEMY_DATABASE_URI"])
    click.echo("Loaded (new / already there):")
    for name, count in counts.items():
        if isinstance(count, dict):
            count = f"{count.get('created', 0)} / {count.get('present', 0) + count.get('updated', 0)}"
        click.echo(f"  {name:<24} {count}")
    click.echo("\nDemo accounts (password: %s):" % DEMO_PASSWORD)
    for email, who in DEMO_ACCOUNTS:
        click.echo(f"  {email:<24} {who}")
    if no_serve:
        return
    scheduler = _start_embedded_scheduler(app)
    click.echo(f"\nServing at http://{host}:{port}/  (Ctrl+C to stop)")
    try:
        # Flask's CLI refuses app.run() inside a command, so serve with werkzeug directly.
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def _start_embedded_scheduler(app):
    """The one-process demo embeds the scheduler; web workers elsewhere never start it."""
    return start_scheduler(app, background=True)
