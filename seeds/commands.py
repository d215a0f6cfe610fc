"""`chainmatch seed`: load the seed data files into the database (idempotent)."""
import time

import click
from flask.cli import with_appcontext

from chainmatch.extensions import db


@click.command("seed")
@click.option("--demo-accounts", is_flag=True,
              help="Also create the demo users (sme@demo.local …, password demo-password). Never on a public server.")
@with_appcontext
def seed_command(demo_accounts: bool) -> None:
    """Load chains, regions, institutions, products, demo SMEs and offices; safe to run again."""
    from seeds.loader import load_all

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
