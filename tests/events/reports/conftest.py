"""Report tests: no request context held across requests (see tests/market/conftest.py), cheap password hashes."""
import pytest
from argon2 import PasswordHasher

import chainmatch.accounts.models as account_models
from tests.market.helpers import end_open_read_before_schema_reset

end_open_read_before_schema_reset()


@pytest.fixture(autouse=True)
def _push_request_context():
    """Overrides pytest-flask's fixture of the same name: every request gets its own context."""
    yield


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    original = account_models._hasher
    account_models._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    account_models._hasher = original
