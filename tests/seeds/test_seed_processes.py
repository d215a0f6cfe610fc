"""`chainmatch seed` as an operator runs it, in real processes: before `db upgrade`, and twice at once.

Each test gets an empty database of its own (SQLite file; also PostgreSQL when DATABASE_URL points at it).
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from market.models import Enterprise, Institution, Region
from seeds.loader import read_demo_smes, read_institutions, read_regions

ROOT = Path(__file__).resolve().parents[2]
CLI = "from chainmatch.cli import cli; cli()"


def _env(database_url: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "CHAINMATCH_DEMO"}
    return {**env, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), "FLASK_DEBUG": "0"}


def _start(database_url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLI, *args], cwd=ROOT, env=_env(database_url),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(database_url: str, *args: str) -> subprocess.CompletedProcess:
    process = _start(database_url, *args)
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_seed_before_db_upgrade_says_to_upgrade(database_url):
    result = _run(database_url, "seed")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "the database has no table" in result.stderr
    assert "run `chainmatch db upgrade` first" in result.stderr
    assert result.stdout == ""


def test_two_seeds_at_once_both_finish_and_load_once(database_url):
    upgrade = _run(database_url, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    first, second = _start(database_url, "seed"), _start(database_url, "seed")
    outcomes = [process.communicate(timeout=300) for process in (first, second)]
    for process, (stdout, stderr) in zip((first, second), outcomes):
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr and "seeded in" in stdout
    created = sorted(int(next(line for line in stdout.splitlines() if line.startswith("enterprises")).split()[1])
                     for stdout, _ in outcomes)
    assert created == [0, len(read_demo_smes())]  # one created them, the other found them present
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            counted = {model: connection.scalar(select(func.count()).select_from(model))
                       for model in (Region, Institution, Enterprise)}
            assert counted == {Region: len(read_regions()), Institution: len(read_institutions()),
                               Enterprise: len(read_demo_smes())}
            connection.execute(text("UPDATE alembic_version SET version_num = 'an_old_one'"))
            connection.commit()
    finally:
        engine.dispose()
    behind = _run(database_url, "seed")
    assert behind.returncode == 2 and "Traceback" not in behind.stderr
    assert "the database is at migration an_old_one" in behind.stderr
    assert "run `chainmatch db upgrade` first" in behind.stderr


def test_a_seed_waits_for_the_one_holding_the_lock_and_says_so(database_url):
    """PostgreSQL: the test holds the seed's advisory lock, so the seed must wait, say so, and finish after."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite waits inside BEGIN IMMEDIATE (the busy timeout); the test above covers it")
    from seeds.commands import SEED_LOCK_KEY
    assert _run(database_url, "db", "upgrade").returncode == 0
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SEED_LOCK_KEY})
            holder.commit()
            seed = _start(database_url, "seed")
            said = seed.stderr.readline()
            assert "another `chainmatch seed` is running: waiting for it to finish" in said
            assert seed.poll() is None  # still waiting: nothing loaded while the lock is held
            assert holder.scalar(select(func.count()).select_from(Region)) == 0
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SEED_LOCK_KEY})
            holder.commit()
            stdout, stderr = seed.communicate(timeout=300)
            assert seed.returncode == 0, stderr
            assert holder.scalar(select(func.count()).select_from(Region)) == len(read_regions())
    finally:
        engine.dispose()


def test_demo_refuses_a_port_no_socket_has_before_touching_a_database():
    from click.testing import CliRunner

    from chainmatch.demo import demo_command
    result = CliRunner().invoke(demo_command, ["--port", "99999999999", "--no-serve"])
    assert result.exit_code == 2 and "--port" in result.output and "65535" in result.output
