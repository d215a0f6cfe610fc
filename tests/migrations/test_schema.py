"""`upgrade` from an empty database gives exactly the schema of the models."""
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text

from chainmatch import create_app
from core.extensions import db


@pytest.fixture
def empty_database_url(tmp_path):
    """A database of its own: a SQLite file, or a fresh PostgreSQL database beside the test one."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield "sqlite:///" + str(tmp_path / "migrated.sqlite")
        return
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = "chainmatch_migration_check"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    base, _, _ = url.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_upgrade_from_empty_matches_models(empty_database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
            tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        db.engine.dispose()
    assert differences == []
    assert tables == set(db.metadata.tables)


def test_check_constraints_survive_migration(empty_database_url):
    """Autogenerate does not compare CHECK constraints, so compare their names directly."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            inspector = inspect(connection)
            for table in db.metadata.sorted_tables:
                expected = {c.name for c in table.constraints if c.__class__.__name__ == "CheckConstraint"}
                found = {c["name"] for c in inspector.get_check_constraints(table.name)}
                assert expected <= found, (table.name, expected - found)
        db.engine.dispose()


def _filler(column):
    """A value a NOT NULL column accepts (foreign keys are off while the rows go in)."""
    from datetime import date, datetime

    from sqlalchemy import JSON, Boolean, Date, DateTime
    kind = column.type
    if isinstance(kind, JSON) or "JSON" in type(kind).__name__.upper():
        return []
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, DateTime):
        return datetime(2027, 1, 1)
    if isinstance(kind, Date):
        return date(2027, 1, 1)
    python_type = getattr(kind, "python_type", str)
    return 1 if python_type is int else "x"


def test_meeting_times_are_backfilled_from_the_session_grid(empty_database_url):
    """Revision b7c1e4a9d2f0: placed meetings get starts_at/ends_at from their session; unplaced stay empty."""
    from datetime import datetime

    from flask_migrate import upgrade as upgrade_to
    from sqlalchemy import MetaData
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade_to(revision="556393cc421e")
        plain = create_engine(empty_database_url)  # SQLite: foreign keys off unless a connection turns them on
        with plain.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            tables = MetaData()
            tables.reflect(connection, only=["event_sessions", "meetings", "enterprises", "institutions"])

            def row(table, **values):
                full = {c.name: _filler(c) for c in table.columns
                        if not c.nullable and not c.primary_key and c.server_default is None}
                full.update(values)
                connection.execute(table.insert().values(**full))

            sessions, meetings = tables.tables["event_sessions"], tables.tables["meetings"]
            row(tables.tables["enterprises"], id=1, stage="growth", industry="software_it", credit_code="9" * 18)  # SQLite's table rebuild checks the meetings' parents
            row(tables.tables["institutions"], id=1, kind="bank", status="approved", name="甲")
            row(tables.tables["institutions"], id=2, kind="bank", status="approved", name="乙")
            row(sessions, id=1, starts_at=datetime(2027, 1, 12, 1), ends_at=datetime(2027, 1, 12, 3), slot_minutes=30,
                tables=5, kind="credit_matching", mode="offline")
            common = dict(session_id=1, enterprise_id=1, institution_id=1, source="matcher")
            row(meetings, id=1, slot=2, table_number=1, status="scheduled", **common)
            row(meetings, id=2, slot=None, table_number=None, status="proposed", **{**common, "institution_id": 2})
        plain.dispose()
        upgrade_to()
        with db.engine.connect() as connection:
            times = dict(connection.execute(text("SELECT id, starts_at FROM meetings ORDER BY id")).all())
            ends = dict(connection.execute(text("SELECT id, ends_at FROM meetings ORDER BY id")).all())
        db.engine.dispose()

    def moment(value):
        return value if not isinstance(value, str) else datetime.fromisoformat(value)
    assert moment(times[1]) == datetime(2027, 1, 12, 2) and moment(ends[1]) == datetime(2027, 1, 12, 2, 30)
    assert times[2] is None and ends[2] is None
