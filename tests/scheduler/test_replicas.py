"""Two schedulers against one database: one leads, the other waits; nothing is ever sent twice."""
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text

from chainmatch.scheduler import Leadership
from core.clock import utcnow
from core.extensions import db
from notifications import delivery
from notifications.jobs import deliver_due
from notifications.models import Notification
from notifications.services import Message, enqueue
from tests.notifications.smtp_sink import Inbox, free_port
from tests.scheduler import scenario as s
from tests.support.database import database

POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgresql", "postgres:"))
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="needs DATABASE_URL pointing at PostgreSQL")
POLL_LIMIT_SECONDS = 120
# `chainmatch scheduler`, registering the command first if the CLI does not have it yet.
LAUNCH = ("from chainmatch.cli import cli; from chainmatch.scheduler import scheduler_command; "
          "'scheduler' in cli.commands or cli.add_command(scheduler_command); cli(['scheduler'])")


def wait_until(condition, what: str, limit: float = POLL_LIMIT_SECONDS):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"never happened: {what}")


# ---- leadership -----------------------------------------------------------------------------------

@needs_postgres
def test_one_leader_at_a_time_and_the_standby_takes_over(app):
    with app.app_context():
        engine = db.engine
    first, second = Leadership(engine, key=4242), Leadership(engine, key=4242)
    try:
        assert first.is_leader()
        assert not second.is_leader()
        assert first.is_leader()  # still ours on the next run
        first.release()
        assert second.is_leader()
        assert not first.is_leader()
    finally:
        first.release()
        second.release()


@needs_postgres
def test_a_leader_whose_connection_died_steps_down(app):
    with app.app_context():
        engine = db.engine
    first, second = Leadership(engine, key=4343), Leadership(engine, key=4343)
    try:
        assert first.is_leader()
        pid = first.connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
        wait_until(second.is_leader, "the standby took the lock", limit=20)
        assert not first.is_leader()
    finally:
        first.release()
        second.release()


# ---- two deliverers racing over one outbox ---------------------------------------------------------

class SlowRecorder:
    sent: list[int] = []
    lock = threading.Lock()

    def send(self, email):
        time.sleep(0.002)
        with self.lock:
            self.sent.append(int(email["X-Chainmatch-Notification"]))

    def close(self):
        pass


def test_two_active_deliverers_never_send_one_message_twice(app, monkeypatch):
    people = s.make_people(app, smes=("A", "B"), institutions=())
    with database(app) as session:
        for user_id in people.smes.values():
            for object_id in range(60):
                enqueue(s.user(user_id), "meeting_reminder_24h", "meeting", object_id,
                        Message("提醒", "正文", "Reminder", "Body"))
        session.commit()
    SlowRecorder.sent = []
    monkeypatch.setattr(delivery, "open_backend", lambda config, path: SlowRecorder())
    moment = utcnow() + timedelta(minutes=1)

    def deliverer():
        with app.app_context():
            for _round in range(3):
                deliver_due(moment, limit=200)

    threads = [threading.Thread(target=deliverer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=POLL_LIMIT_SECONDS)
    assert not any(thread.is_alive() for thread in threads)

    assert len(SlowRecorder.sent) == 120 and set(Counter(SlowRecorder.sent).values()) == {1}
    assert s.delivery_states(app) == Counter({"sent": 120})


# ---- two real `chainmatch scheduler` processes --------------------------------------------------------

def outbox(app) -> tuple[int, int]:
    """(rows, rows sent)"""
    with database(app) as session:
        return (session.scalar(select(func.count(Notification.id))),
                session.scalar(select(func.count(Notification.id)).where(Notification.status == "sent")))


def start_scheduler_process(log_path, smtp_port: int) -> subprocess.Popen:
    env = dict(os.environ, CHAINMATCH_MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port),
               PYTHONUNBUFFERED="1")
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "-c", LAUNCH], env=env, stdout=log, stderr=subprocess.STDOUT,
                                cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@needs_postgres
@pytest.mark.slow
def test_two_scheduler_processes_deliver_each_reminder_exactly_once(app, tmp_path):
    people = s.make_people(app, smes=("A", "B", "C"), institutions=("I1", "I2"))
    s.published_meetings(app, people, [("A", "I1", 0), ("B", "I2", 0), ("C", "I1", 1)])
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    logs = [tmp_path / "scheduler-1.log", tmp_path / "scheduler-2.log"]
    processes = [start_scheduler_process(logs[0], smtp.port), start_scheduler_process(logs[1], smtp.port)]
    try:
        wait_until(lambda: outbox(app) == (6, 6), "both sides of three meetings reminded and delivered")
        wait_until(lambda: all("leading scheduler" in log.read_text() or "standby" in log.read_text()
                               for log in logs), "both processes decided who leads")
        assert all(process.poll() is None for process in processes), "both schedulers are running"
        leaders = [i for i, log in enumerate(logs) if "leading scheduler" in log.read_text()]
        assert len(leaders) == 1, [log.read_text()[-2000:] for log in logs]
        assert "standby" in logs[1 - leaders[0]].read_text()

        # The leader goes away; the standby takes over and sends what falls due next — once.
        stop(processes[leaders[0]])
        s.published_meetings(app, people, [("B", "I1", 0)])
        wait_until(lambda: outbox(app) == (8, 8), "the standby took over and delivered the new reminders")
        assert "leading scheduler" in logs[1 - leaders[0]].read_text()
    finally:
        for process in processes:
            stop(process)
        smtp.stop()

    with database(app) as session:
        ids = set(session.scalars(select(Notification.id)))
        kinds = set(session.scalars(select(Notification.kind)))
    received = inbox.counts()
    assert kinds == {"meeting_reminder_1h"}
    assert set(received) == ids and set(received.values()) == {1}, received
