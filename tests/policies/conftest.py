"""Fixtures for the pure policy engine: the seeded library and a one-policy judge."""
import datetime as dt
import os
from pathlib import Path

import pytest

from policies import evaluate, evaluate_policy, load_library, parse_facts

REPO = Path(__file__).resolve().parents[2]

# Dates on which the sources are open: the AI measures are in force 2024-08-19 – 2027-12-31;
# the 2024 first-batch notice takes enterprise applications until 2024-05-30.
AI_DAY = dt.date(2025, 6, 1)
NOTICE_DAY = dt.date(2024, 5, 20)


def source_path() -> Path:
    """$CHAINMATCH_SOURCE_DOCUMENTS, else ../shared/source-documents next to the repository."""
    env = os.environ.get("CHAINMATCH_SOURCE_DOCUMENTS")
    return Path(env) if env else REPO.parent / "shared" / "source-documents"


def source_dir() -> Path | None:
    path = source_path()
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def library():
    return load_library()


@pytest.fixture
def sources(request):
    """The source documents' folder (outside the repository): the test skips without it; it carries
    @pytest.mark.outside_files so that the summary says so (tests/outside_files_plugin.py)."""
    if request.node.get_closest_marker("outside_files") is None:
        pytest.fail("a test that uses `sources` carries @pytest.mark.outside_files", pytrace=False)
    path = source_dir()
    if path is None:
        pytest.skip(f"needs the source documents in {source_path()} "
                    "(../shared/source-documents beside the checkout, or set CHAINMATCH_SOURCE_DOCUMENTS)")
    return path


@pytest.fixture
def judge(library):
    """judge(policy_id, raw_facts, on=AI_DAY) -> PolicyResult of that policy alone."""

    def run(policy_id, raw, on=AI_DAY):
        facts = parse_facts(raw, library.facts)
        return evaluate_policy(library, library.policy(policy_id), facts, on)

    return run


@pytest.fixture
def judge_all(library):
    """judge_all(raw_facts, on=AI_DAY) -> Evaluation of the whole library (groups resolved)."""

    def run(raw, on=AI_DAY):
        return evaluate(library, parse_facts(raw, library.facts), on)

    return run
