"""Organiser tests: no request context held across a test (see tests/market/conftest.py for why);
data is set up in short app contexts, and services are called inside `db_session`."""
import pytest
from argon2 import PasswordHasher

import chainmatch.accounts.models as account_models
from chainmatch.extensions import db
from tests.market.helpers import end_open_read_before_schema_reset

end_open_read_before_schema_reset()


@pytest.fixture(autouse=True)
def _push_request_context():
    """Overrides pytest-flask's fixture of the same name: no context held across requests."""
    yield


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    original = account_models._hasher
    account_models._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    account_models._hasher = original


@pytest.fixture
def db_session(app):
    """An app context and its database session for calling services directly; rolled back at the end."""
    with app.test_request_context():
        yield db.session
        db.session.rollback()
