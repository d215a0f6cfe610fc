"""Shared set-up of the 政策对接 web tests (pages, services, jobs).

Import the fixture into a test module:

    from tests.policies.pages_support import seeded  # noqa: F401

`seeded` loads the policy library into the (per-test emptied) database. Data is set up in short
app contexts with `database(app)`.
"""
from datetime import date

import pytest

from core.extensions import db
from policies.store import load_policy_library
from tests.support.database import database

AI_DAY = date(2025, 6, 1)  # the AI measures are in force; the 2024 notice has closed
NOTICE_DAY = date(2024, 5, 20)  # the 2024 first-batch notice takes applications until 2024-05-30


@pytest.fixture
def seeded(app):
    """The app with its policy library loaded (committed)."""
    with database(app) as session:
        load_policy_library(session)
        session.commit()
    return app


@pytest.fixture
def on_day(monkeypatch):
    """on_day(date): the pages and services evaluate on that date instead of today."""
    from policies import services

    def set_day(day: date) -> None:
        monkeypatch.setattr(services, "today", lambda: day)

    return set_day


def store_facts(app, user, **raw) -> None:
    """Store answers for `user`'s enterprise through the service (committed)."""
    from accounts.models import User
    from policies import services
    from policies.store import vocabulary
    with database(app):
        services.save_fact_answers(db.session.get(User, user.id), raw, vocabulary().facts)
        db.session.commit()
