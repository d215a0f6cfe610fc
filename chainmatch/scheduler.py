"""The scheduler runner: APScheduler 3 in its own process (`chainmatch scheduler`), or embedded in the demo.

Two interval jobs, both sweeps over the database: the due-work sweep (every 30 s) runs each job of
`due_work()` (the month's jobs of `events.jobs`, then `policies.jobs`) for "what is due now"; the delivery sweep (every 15 s) sends the outbox. Because
each run looks at the database rather than at its own schedule, a missed run is made up by the next one
and a repeated run changes nothing twice. Hence `coalesce=True` (runs that piled up while the process was
paused become one), `misfire_grace_time` = one interval (a run later than that is dropped: the next one is
due anyway), `max_instances=1` (a long sweep never overlaps itself), and a first run of both at start-up
(`next_run_time=now`) that catches up on everything that fell due while the scheduler was down.

Only the leader works: on PostgreSQL the process holding `pg_try_advisory_lock(ADVISORY_LOCK_KEY)` on a
connection kept for its lifetime. Another process idles as a hot standby and tries again before each
run, taking over when the leader's connection goes away. Delivery claims rows one by one as well, so
even two active deliverers never send one message twice. See docs/operations.md.
"""
import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from core.extensions import db
from core.submissions import purge_submission_tokens
from events import jobs as event_jobs
from notifications.jobs import deliver_due
from policies.jobs import remind_policy_deadlines

log = logging.getLogger("chainmatch.scheduler")

SWEEP_SECONDS = 30
DELIVERY_SECONDS = 15
ADVISORY_LOCK_KEY = 0x636D_7363_6865_6431 & 0x7FFF_FFFF_FFFF_FFFF  # "cmschedl": one bigint, ours alone
SWEEP_JOB_ID = "due-work-sweep"
DELIVERY_JOB_ID = "deliver-outbox"


class Leadership:
    """Whether this process is the one scheduler that works. A no-op (always the leader) on SQLite."""

    def __init__(self, engine: Engine, key: int = ADVISORY_LOCK_KEY):
        self.engine = engine
        self.key = key
        self.connection: Connection | None = None
        self._guard = threading.Lock()
        self._reported_standby = False

    @property
    def uses_lock(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def is_leader(self) -> bool:
        """True while we hold the lock; otherwise try to take it (the standby's periodic retry)."""
        if not self.uses_lock:
            return True
        with self._guard:
            if self.connection is not None:
                if self._still_connected():
                    return True
                log.warning("lost the scheduler lock connection; trying to take the lock again")
                self._discard()
            return self._try_acquire()

    def _still_connected(self) -> bool:
        try:
            self.connection.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 — any failure means the session (and its lock) is gone
            return False

    def _try_acquire(self) -> bool:
        connection = None
        try:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
        except Exception:  # noqa: BLE001 — the database is unreachable: stay standby, retry next run
            log.exception("could not ask PostgreSQL for the scheduler lock")
            if connection is not None:
                connection.invalidate()
                connection.close()
            return False
        if not taken:
            connection.close()
            if not self._reported_standby:
                log.info("another scheduler holds the lock: this process is the standby")
                self._reported_standby = True
            return False
        self.connection = connection
        self._reported_standby = False
        log.info("this process is the leading scheduler (advisory lock %s)", self.key)
        return True

    def _discard(self) -> None:
        """Really close the connection: returned to the pool it would keep holding a session lock."""
        if self.connection is not None:
            try:
                self.connection.invalidate()
                self.connection.close()
            except Exception:  # noqa: BLE001
                pass
            self.connection = None

    def release(self) -> None:
        with self._guard:
            if self.connection is not None:
                try:
                    self.connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                except Exception:  # noqa: BLE001 — closing the connection releases it anyway
                    pass
                self._discard()


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def run_unit(app: Flask, name: str, work: Callable[[], object]):
    """Run one unit of work in its own app context: commit on success, roll back and log on failure."""
    with app.app_context():
        try:
            result = work()
            db.session.commit()
            return result
        except Exception:  # noqa: BLE001 — a failing job never kills the scheduler
            db.session.rollback()
            log.exception("scheduler job %s failed", name)
            return None


def due_work() -> tuple[tuple[str, Callable[[datetime], object]], ...]:
    """The jobs of one sweep, in order: the month's (events.jobs.DUE_WORK), policy deadline reminders, then the
    purge of old submission tokens."""
    return event_jobs.DUE_WORK + (("remind_policy_deadlines", remind_policy_deadlines),
                       ("purge_submission_tokens", purge_submission_tokens))


def run_due_work(app: Flask, now: datetime | None = None) -> dict[str, object]:
    """One due-work sweep: every job in order, each committed on its own. Returns each job's result."""
    now = now or _utcnow()
    results = {}
    for name, job in due_work():
        results[name] = run_unit(app, name, lambda job=job: job(now))
    return results


def deliver_outbox(app: Flask, now: datetime | None = None):
    """One delivery sweep over the outbox (the job commits each message itself)."""
    return run_unit(app, "deliver_outbox", lambda: deliver_due(now or _utcnow()))


def _guarded(leadership: Leadership, work: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        if leadership.is_leader():
            work()
    return run


def start_scheduler(app: Flask, background: bool):
    """Start the scheduler: BackgroundScheduler (returned at once) or BlockingScheduler (returns on stop).

    Jobs have fixed ids and `replace_existing=True`; both run once immediately to catch up.
    """
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    with app.app_context():
        leadership = Leadership(db.engine)
    scheduler_class = BackgroundScheduler if background else BlockingScheduler
    scheduler = scheduler_class(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.chainmatch_leadership = leadership
    now = datetime.now(UTC)
    scheduler.add_job(_guarded(leadership, lambda: run_due_work(app)), "interval", seconds=SWEEP_SECONDS,
                      id=SWEEP_JOB_ID, name="due-work sweep", replace_existing=True, coalesce=True,
                      misfire_grace_time=SWEEP_SECONDS, max_instances=1, next_run_time=now)
    scheduler.add_job(_guarded(leadership, lambda: deliver_outbox(app)), "interval", seconds=DELIVERY_SECONDS,
                      id=DELIVERY_JOB_ID, name="outbox delivery", replace_existing=True, coalesce=True,
                      misfire_grace_time=DELIVERY_SECONDS, max_instances=1, next_run_time=now + timedelta(seconds=1))
    _release_on_shutdown(scheduler, leadership)
    log.info("scheduler starting (%s): sweep every %ss, delivery every %ss",
             "background" if background else "blocking", SWEEP_SECONDS, DELIVERY_SECONDS)
    if background:
        scheduler.start()
        return scheduler
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopping")
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
        leadership.release()
    return scheduler


def _release_on_shutdown(scheduler, leadership: Leadership) -> None:
    """Give up the lock when the scheduler shuts down, so a standby takes over at its next try."""
    original_shutdown = scheduler.shutdown

    def shutdown(wait: bool = True) -> None:
        try:
            original_shutdown(wait=wait)
        finally:
            leadership.release()

    scheduler.shutdown = shutdown


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduler in this process (exactly one per deployment; a second one waits as a standby)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)  # not "Running job ..." every 15 s
    app = current_app._get_current_object()

    def stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    start_scheduler(app, background=False)
