"""`chainmatch seed`: load the seed data files into the database (idempotent)."""
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from chainmatch.extensions import db


@click.command("seed")
@click.option("--demo-accounts", is_flag=True,
              help="Also create the demo users (sme@demo.local …, password demo-password): only in the demo's own "
                   "database (CHAINMATCH_DEMO=1); `chainmatch demo` does this itself.")
@with_appcontext
def seed_command(demo_accounts: bool) -> None:
    """Load chains, regions, institutions, products, demo SMEs and offices; safe to run again."""
    from seeds.loader import load_all

    if demo_accounts and not current_app.config.get("DEMO_MODE"):
        raise click.UsageError("--demo-accounts belongs to the demo's own database: run `chainmatch demo`, or set "
                               "CHAINMATCH_DEMO=1 (which uses instance/demo.sqlite). A real instance never holds "
                               "@demo.local accounts.")
    started = time.perf_counter()
    try:
        counts = load_all(db.session, demo_accounts=demo_accounts)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"{'table':<20}{'created':>9}{'present':>9}{'updated':>9}{'skipped':>9}")
    for table, row in counts.items():
        click.echo(f"{table:<20}{row['created']:>9}{row['present']:>9}{row['updated']:>9}{row['skipped']:>9}")
    click.echo(f"seeded in {time.perf_counter() - started:.2f} s")
