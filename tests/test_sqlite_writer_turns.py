"""SQLite writers of one process take turns first come, first served (core.database.WriterTurns).

The queue itself: order, hand-over, a wait that times out leaves the queue. On a real SQLite file engine: the
turn is taken by `BEGIN IMMEDIATE` and given back at COMMIT, at ROLLBACK, when a connection is returned or
thrown away in the middle of a transaction, and when BEGIN itself fails; a read (deferred BEGIN) takes none.
A leaked turn would stop every later writer of the process, so each case ends with another thread writing
(which gives up with "database is locked" after the busy timeout if a turn leaked).
"""
import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from core.database import WriterTurns, configure_engine, read_only


def _until_queued(turns: WriterTurns, count: int) -> None:
    """Wait until `count` writers wait in the queue (so the next one asks after them)."""
    deadline = time.monotonic() + 10
    while len(turns._waiting) < count:
        assert time.monotonic() < deadline, "the writer never queued"
        time.sleep(0.001)


def test_turns_are_served_in_the_order_they_were_asked_for():
    turns, order = WriterTurns(), []
    assert turns.acquire(1)
    waiters = []
    for index in range(5):
        thread = threading.Thread(target=lambda i=index: (turns.acquire(10), order.append(i), turns.release()))
        thread.start()
        waiters.append(thread)
        _until_queued(turns, index + 1)
    turns.release()
    for thread in waiters:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_a_wait_that_times_out_leaves_the_queue_and_the_next_waiter_still_gets_its_turn():
    turns = WriterTurns()
    assert turns.acquire(1)
    assert turns.acquire(0.05) is False  # gave up: not in the queue any more
    got = []
    waiter = threading.Thread(target=lambda: got.append(turns.acquire(10)))
    waiter.start()
    _until_queued(turns, 1)
    turns.release()
    waiter.join(5)
    assert got == [True]
    turns.release()
    assert turns.acquire(0)  # free again


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'turns.sqlite'}")
    configure_engine(engine, busy_timeout_ms=2_000)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)"))
    yield engine
    engine.dispose()


def _another_thread_can_write(engine) -> bool:
    """Whether another thread inserts a row; a leaked turn makes it give up after the busy timeout instead."""
    outcome = {}

    def write():
        try:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO things (name) VALUES ('other')"))
            outcome["written"] = True
        except OperationalError as error:
            outcome["error"] = error

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(30)
    assert "error" not in outcome, outcome
    return outcome.get("written", False)


def test_the_turn_is_given_back_at_commit_and_at_rollback(engine):
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO things (name) VALUES ('committed')"))
    assert _another_thread_can_write(engine)
    with engine.connect() as connection:
        connection.begin()
        connection.execute(text("INSERT INTO things (name) VALUES ('rolled back')"))
        connection.rollback()
    assert _another_thread_can_write(engine)


def test_the_turn_is_given_back_when_a_connection_is_closed_or_thrown_away_mid_transaction(engine):
    connection = engine.connect()
    connection.begin()
    connection.execute(text("INSERT INTO things (name) VALUES ('left open')"))
    connection.close()  # back to the pool with the transaction open
    assert _another_thread_can_write(engine)
    connection = engine.connect()
    connection.begin()
    connection.execute(text("INSERT INTO things (name) VALUES ('invalidated')"))
    connection.invalidate()
    connection.close()
    assert _another_thread_can_write(engine)


def test_a_writer_waits_for_the_turn_and_gives_up_with_database_is_locked(engine):
    holder = engine.connect()
    holder.begin()  # holds the turn (and SQLite's write lock)
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO things (name) VALUES ('too late')"))
    finally:
        holder.rollback()
        holder.close()
    assert _another_thread_can_write(engine)


def test_a_reader_takes_no_turn(engine):
    holder = engine.connect()
    holder.begin()
    try:
        with read_only(), engine.connect() as reader:
            reader.begin()
            assert reader.execute(text("SELECT count(*) FROM things")).scalar() == 0
            reader.rollback()
    finally:
        holder.rollback()
        holder.close()


def test_a_begin_that_sqlite_refuses_gives_the_turn_back(engine, tmp_path):
    # another process's writer, as SQLite sees it: a second engine without our queue holds the write lock
    outsider = create_engine(f"sqlite:///{tmp_path / 'turns.sqlite'}", connect_args={"isolation_level": None})
    lock = outsider.connect()
    lock.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"):
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO things (name) VALUES ('refused')"))
    finally:
        lock.exec_driver_sql("ROLLBACK")
        lock.close()
        outsider.dispose()
    assert _another_thread_can_write(engine)
