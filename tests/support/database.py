"""The database from a test: short app contexts for setting up or checking data, and row counts."""
from contextlib import contextmanager

from sqlalchemy import func, inspect, select

from core.extensions import db


@contextmanager
def database(app):
    """A short app context for setting up or checking data. Leaving it closes the session (and,
    on SQLite, releases the write lock that BEGIN IMMEDIATE took), so requests can run after it.
    Objects made inside stay readable (columns only) after it."""
    with app.app_context():
        yield db.session
        # Commits expire every object of the session; load them again so that what the test keeps
        # (ids, emails ...) stays readable once the session is closed.
        for obj in list(db.session.identity_map.values()):
            if inspect(obj).expired_attributes:
                db.session.refresh(obj)


def count(app, model) -> int:
    with database(app) as session:
        return session.scalar(select(func.count()).select_from(model))


def counts(app, *models) -> dict:
    return {model.__name__: count(app, model) for model in models}
