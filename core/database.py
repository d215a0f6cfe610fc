"""Transactions that keep SQLite honest under concurrent writers and readers, and what a request wrote.

SQLite (WAL mode, a busy timeout, foreign keys on) allows one writer and any number of readers. Each
transaction's kind is decided when it BEGINs, never later:

- A transaction that may write starts with `BEGIN IMMEDIATE`: it takes the write lock at once, so a
  second writer waits (up to the busy timeout) and then sees the first one's rows, and a UNIQUE
  constraint turns the loser into a clean refusal. A deferred transaction that first reads and then
  writes is not safe in WAL: when another writer committed in between, SQLite refuses the upgrade at
  once (SQLITE_BUSY_SNAPSHOT, "database is locked"), whatever the busy timeout.
- A transaction that only reads starts with a plain (deferred) `BEGIN`: it reads a snapshot and never
  waits for, nor blocks, a writer.

Which one: in a request, the method says — GET, HEAD and OPTIONS read (deferred), POST, PUT, PATCH and
DELETE write (immediate); `chainmatch.web` sets the flag before the first query of each request. Outside
requests (CLI commands, scheduler jobs, tests' app contexts) every transaction is immediate unless the
code runs inside `read_only()`.

A GET that has to write calls `begin_writing()` before it does (the session expiry does): the read-only
transaction so far ends and the next one begins IMMEDIATE. A GET that writes without saying so and loses
the upgrade race fails with "database is locked"; `chainmatch.web` then runs it once more from the start,
as a writer, provided nothing it wrote was committed.

Writers of one process take turns first come, first served (`WriterTurns`) before they ask SQLite for the
write lock. SQLite's own busy handler polls, sleeping up to 100 ms between tries, so under a steady stream
of short writes one unlucky writer can lose every race for longer than the busy timeout although each
write holds the lock for milliseconds (200 sign-ups 30 at a time on a loaded machine: five 503s). Queued
here, only the head of the queue waits on SQLite; writers of other processes still meet its busy handler.

Slow work (Argon2 hashing and verifying) holds no lock: `release_read_transaction()` ends a transaction
that has written nothing before it, so a sign-up does not keep every other writer waiting while it hashes.

Every dialect: each request records in `g` whether it wrote and whether it committed a write, so a failed
read-only request can be retried safely and the 503 page can say whether the action was saved.
"""
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, scoped_session

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_BUSY_TIMEOUT_MS = 15_000

_read_only_scope: ContextVar[bool] = ContextVar("chainmatch_read_only", default=False)
_READS = ("SELECT", "PRAGMA", "BEGIN")  # statements that write nothing (savepoints count as writes)


@contextmanager
def read_only() -> Iterator[None]:
    """Transactions begun inside (outside a request) only read: deferred BEGIN on SQLite."""
    token = _read_only_scope.set(True)
    try:
        yield
    finally:
        _read_only_scope.reset(token)


def mark_request(request) -> None:
    """before_request: this request's transactions read (GET/HEAD/OPTIONS) or may write (everything else).
    Once per request: a retried request keeps what its first run found out."""
    if request.environ.get("chainmatch.db.marked"):
        return
    request.environ["chainmatch.db.marked"] = True
    g.db_reads_only = request.method.upper() in READ_METHODS
    g.db_retried = False
    g.db_wrote = False
    g.db_committed_writes = False


def reads_only() -> bool:
    """Whether a transaction beginning now only reads."""
    if has_app_context() and "db_reads_only" in g:
        return g.db_reads_only
    return _read_only_scope.get()


def committed_writes() -> bool:
    """Whether this request already committed something it wrote."""
    return has_app_context() and bool(g.get("db_committed_writes"))


def _has_unsaved_changes(session: Session) -> bool:
    return bool(session.new or session.dirty or session.deleted)


def _transaction_wrote(session: Session) -> bool:
    if not session.in_transaction():
        return False
    return bool(session.connection().info.get("wrote"))


def release_read_transaction(session: Session | scoped_session) -> bool:
    """End the current transaction if it wrote nothing (nothing flushed, nothing pending), so slow work that
    follows holds no database lock; True if there is now no transaction. Loaded objects are expired and load
    again on their next use. A transaction that wrote is left alone: its changes are not ours to drop."""
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        return True
    if _has_unsaved_changes(session) or _transaction_wrote(session):
        return False
    session.rollback()
    return True


def begin_writing(session: Session | scoped_session) -> None:
    """A read-only request (GET) is about to write: the next transaction begins IMMEDIATE. The read-only
    transaction so far ends first, when it wrote nothing (else it keeps going as it is)."""
    if has_app_context() and g.get("db_reads_only"):
        g.db_reads_only = False
        release_read_transaction(session)


def _info(connection) -> dict:
    return {} if connection.invalidated else connection.info


def configure_engine(engine: Engine, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> None:
    """Track writes on every dialect; on SQLite also WAL, the busy timeout, foreign keys and the BEGIN kind."""

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(connection, _cursor, statement, _parameters, _context, _executemany):
        if not statement.lstrip().upper().startswith(_READS):
            connection.info["wrote"] = True
            if has_app_context():
                g.db_wrote = True

    @event.listens_for(engine, "begin")
    def _note_begin(connection):
        connection.info["wrote"] = False

    @event.listens_for(engine, "commit")
    def _note_commit(connection):
        if _info(connection).pop("wrote", False) and has_app_context():
            g.db_committed_writes = True

    @event.listens_for(engine, "rollback")
    def _note_rollback(connection):
        _info(connection).pop("wrote", None)  # an invalidated connection is gone, and its flag with it

    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms)


class WriterTurns:
    """First come, first served turns at SQLite's write lock for the threads of one process.

    `acquire` waits (blocked, not polling) until every writer that asked earlier has released its turn; a
    turn that is released is handed straight to the longest waiter, so no newcomer can overtake it."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._taken = False
        self._waiting: deque[threading.Event] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._taken:
                self._taken = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait ended
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().set()  # the turn passes on; it stays taken
            else:
                self._taken = False


_TURN = "chainmatch_writer_turn"  # in the pool record's info while its connection holds the process's turn


def _release_turn(info: dict, turns: WriterTurns) -> None:
    if info.pop(_TURN, False):
        turns.release()


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    turns = WriterTurns() if engine.url.database not in (None, "", ":memory:") else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # pysqlite's own lazy BEGIN off: we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        deferred = reads_only()
        connection.info["deferred"] = deferred
        if has_app_context():
            g.db_deferred_transaction = deferred
        if deferred:
            connection.exec_driver_sql("BEGIN")
            return
        if turns is not None:
            if not turns.acquire(busy_timeout_ms / 1000):
                raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
            connection.info[_TURN] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if turns is not None:
                _release_turn(connection.info, turns)
            raise

    if turns is None:
        return

    # The turn ends with the transaction: at COMMIT or ROLLBACK, or when the connection goes back to the pool,
    # is reset or thrown away without either (SQLite drops the lock with the connection then).
    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _end_turn(connection):
        if not connection.invalidated:
            _release_turn(connection.info, turns)

    @event.listens_for(engine.pool, "checkin")
    @event.listens_for(engine.pool, "close")
    def _end_turn_of_record(_dbapi_connection, record):
        if record is not None:
            _release_turn(record.info, turns)

    @event.listens_for(engine.pool, "reset")
    def _end_turn_at_reset(_dbapi_connection, record, _reset_state):
        _end_turn_of_record(_dbapi_connection, record)

    @event.listens_for(engine.pool, "invalidate")
    def _end_turn_of_invalidated(_dbapi_connection, record, _exception):
        _end_turn_of_record(_dbapi_connection, record)


def configure_sqlite(engine: Engine) -> None:
    """Kept for callers of the old name."""
    configure_engine(engine)


def commit_keeping(session: Session | scoped_session, *objects) -> None:
    """Commit, keeping these objects' loaded columns instead of expiring them: what the response does after the
    commit (sign the user in, choose the landing page) then needs no query, and cannot fail on the database
    once the action is saved."""
    session.flush()
    for obj in objects:
        session.expunge(obj)
    session.commit()
    for obj in objects:
        session.add(obj)
