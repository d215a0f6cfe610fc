"""`upgrade` from an empty database gives exactly the schema of the models."""
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text

from chainmatch import create_app
from chainmatch.extensions import db


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
