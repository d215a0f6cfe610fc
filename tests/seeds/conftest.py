"""Fixtures of the seed tests: an empty database of their own, so that loading starts from nothing.

The shared `app` fixture of tests/conftest.py already holds the reference data, so these tests
build a minimal Flask app bound to a new database: a SQLite file always, and also a scratch
PostgreSQL database beside the test one when DATABASE_URL points at PostgreSQL (as in CI).
"""
import os

import pytest
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import create_engine, text

import accounts.models as account_models
import market.models  # noqa: F401  (registers the tables)
from core.database import configure_sqlite
from core.extensions import db

SCRATCH_DATABASE = "chainmatch_seeds_check"


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else ["sqlite"]


@pytest.fixture
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'seeds.sqlite'}"
        return
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {SCRATCH_DATABASE}"))
    yield url.rpartition("/")[0] + "/" + SCRATCH_DATABASE
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)"))
    admin.dispose()


def pytest_generate_tests(metafunc):
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", _backends(), indirect=True)


@pytest.fixture
def seed_app(database_url):
    """A minimal app on an empty database, its app context pushed."""
    app = Flask("seeds-test")
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, TESTING=True)
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)  # foreign keys and BEGIN IMMEDIATE, as in the app
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def empty_db(seed_app):
    """The session of `seed_app`."""
    return db.session


@pytest.fixture
def cheap_hashing(monkeypatch):
    """Cheap Argon2 parameters (the hash records them, so check_password still works)."""
    monkeypatch.setattr(account_models, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
