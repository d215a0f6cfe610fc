"""Engine settings that keep SQLite honest under concurrent writers."""
from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys on, and BEGIN IMMEDIATE for every transaction.

    pysqlite's own transaction handling starts a deferred transaction lazily, so two writers can
    both read and then one fails with "database is locked" on its first write. Taking the write
    lock at BEGIN makes the second writer wait (up to the busy timeout) and then see the first
    one's rows, so a UNIQUE constraint turns the loser into a clean refusal.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 15000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
