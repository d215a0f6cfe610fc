"""`chainmatch seed`: load the seed data files into the database (idempotent).

Two seeds at once both finish: each takes the seed lock at the start of its one transaction — a
PostgreSQL transaction-level advisory lock, on SQLite the write lock of the `BEGIN IMMEDIATE` every
CLI transaction starts with (chainmatch/database.py) — so the second waits, says so, and then finds
everything present. A database without the tables (or behind the newest migration) is refused with
exit status 2 and the advice to run `chainmatch db upgrade`, not with a traceback.
"""
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from core.extensions import db
from seeds.loader import load_all

SEED_LOCK_KEY = 0x5EED_C4A1  # pg_advisory_xact_lock key of `chainmatch seed`
LOCK_WAIT_SECONDS = 300  # how long a second seed waits for the first


class SeedRefused(click.ClickException):
    """The database cannot be seeded as it is: message on stderr, exit status 2."""

    exit_code = 2


def _newest_revisions() -> set[str] | None:
    migrate = current_app.extensions.get("migrate")
    if migrate is None:
        return None  # an app without migrations (tests' create_all)
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.directory))
    return set(ScriptDirectory.from_config(config).get_heads())


def schema_problem(connection) -> str | None:
    """Why the database's schema is not the one the code expects (None when it is)."""
    present = set(inspect(connection).get_table_names())
    missing = [table.name for table in db.metadata.sorted_tables if table.name not in present]
    if missing:
        return f"the database has no table {missing[0]}" + (
            f" (nor {len(missing) - 1} others)" if len(missing) > 1 else "")
    newest = _newest_revisions()
    if newest is not None and "alembic_version" in present:
        current = set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
        if current != newest:
            return (f"the database is at migration {', '.join(sorted(current)) or 'none'}, "
                    f"the code's newest is {', '.join(sorted(newest))}")
    return None


def _unmigrated(problem: str) -> SeedRefused:
    return SeedRefused(f"{problem}: run `chainmatch db upgrade` first, then `chainmatch seed`.")


def _take_seed_lock(connection) -> None:
    """Begin the transaction holding the seed lock, waiting (and saying so) while another seed holds it."""
    if connection.dialect.name == "postgresql":
        if connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEED_LOCK_KEY}).scalar():
            return
        click.echo("another `chainmatch seed` is running: waiting for it to finish …", err=True)
        connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'"))
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK_KEY})
        return
    connection.execute(text("SELECT 1"))  # SQLite: BEGIN IMMEDIATE, waiting up to the busy timeout


def _begin_locked():
    """The session's connection, in a transaction that holds the seed lock."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    said = False
    while True:
        try:
            connection = db.session.connection()
            _take_seed_lock(connection)
            return connection
        except OperationalError as error:
            db.session.rollback()
            locked = "locked" in str(error.orig).lower() or "lock timeout" in str(error.orig).lower()
            if not locked:
                raise
            if time.monotonic() > deadline:
                raise SeedRefused(f"another `chainmatch seed` (or a long write) has held the database for "
                                  f"{LOCK_WAIT_SECONDS} s: try again when it has finished.") from None
            if not said:
                click.echo("another `chainmatch seed` is running: waiting for it to finish …", err=True)
                said = True


def _problem_after() -> str | None:
    """The schema problem behind a failed statement, if the schema is what is wrong."""
    try:
        problem = schema_problem(db.session.connection())
    except DBAPIError:
        problem = None
    finally:
        db.session.rollback()
    return problem


@click.command("seed")
@click.option("--demo-accounts", is_flag=True,
              help="Also create the demo users (sme@demo.local …, password demo-password): only in the demo's own "
                   "database (CHAINMATCH_DEMO=1); `chainmatch demo` does this itself.")
@with_appcontext
def seed_command(demo_accounts: bool) -> None:
    """Load chains, regions, institutions, products, demo SMEs and offices; safe to run again (and at once)."""
    if demo_accounts and not current_app.config.get("DEMO_MODE"):
        raise click.UsageError("--demo-accounts belongs to the demo's own database: run `chainmatch demo`, or set "
                               "CHAINMATCH_DEMO=1 (which uses instance/demo.sqlite). A real instance never holds "
                               "@demo.local accounts.")
    started = time.perf_counter()
    try:
        connection = _begin_locked()
        problem = schema_problem(connection)
        if problem:
            raise _unmigrated(problem)
        counts = load_all(db.session, demo_accounts=demo_accounts)
        db.session.commit()
    except (OperationalError, ProgrammingError) as error:
        db.session.rollback()
        problem = _problem_after()
        if problem:
            raise _unmigrated(problem) from None
        raise SeedRefused(f"the database refused the seed: {error.orig}") from None
    except BaseException:
        db.session.rollback()
        raise
    click.echo(f"{'table':<20}{'created':>9}{'present':>9}{'updated':>9}{'skipped':>9}")
    for table, row in counts.items():
        click.echo(f"{table:<20}{row['created']:>9}{row['present']:>9}{row['updated']:>9}{row['skipped']:>9}")
    click.echo(f"seeded in {time.perf_counter() - started:.2f} s")

