"""The outbox under relay outages, with real SMTP servers and sockets: a relay that is down or hangs costs one
connection per run and no message's attempts; stale reminders are dropped; failed messages can be requeued;
an abandoned claim is taken again after a lease of one message."""
import socket
import threading
from collections import Counter
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from events.services import reminders
from notifications import delivery
from notifications.commands import outbox_group
from notifications.jobs import deliver_due
from notifications.models import DeliveryStatus, Notification
from notifications.services import Message, enqueue
from tests.conftest import sign_in
from tests.notifications.smtp_sink import Inbox, free_port
from tests.notifications.test_delivery import MESSAGE, NOW, queue, row
from tests.scheduler import scenario as s
from tests.support import factories

OLD_RETRY_HORIZON = sum((delivery.retry_delay(n) for n in range(1, delivery.MAX_ATTEMPTS)), timedelta())


@pytest.fixture
def smtp(app):
    """Deliver by SMTP to 127.0.0.1:<port> (a port chosen here, nobody listening yet); memory again after."""
    port = free_port()
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=port,
                      SMTP_CONNECT_TIMEOUT=0.5, SMTP_COMMAND_TIMEOUT=0.5)
    yield port
    app.config.update(MAIL_BACKEND="memory", SMTP_CONNECT_TIMEOUT=None, SMTP_COMMAND_TIMEOUT=None)


def stop_listening(listener: socket.socket) -> None:
    """Close a listening socket so that a thread blocked in accept() returns (close alone does not wake it)."""
    try:
        listener.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    listener.close()


def queue_many(count: int, prefix: str) -> list[int]:
    return [queue(factories.sme(f"{prefix}{n}@example.com").id) for n in range(count)]


def states() -> Counter:
    db.session.expire_all()
    return Counter(db.session.scalars(select(Notification.status)))


def attempts() -> set[int]:
    return set(db.session.scalars(select(Notification.attempts)))


def test_an_outage_longer_than_the_old_retry_horizon_loses_nothing(app, session, smtp):
    ids = queue_many(12, "outage")
    moment, runs = NOW, 0
    # Before: each message counted its own refusals and was `failed` for good after 8 (about 2 h 7 min).
    while moment < NOW + OLD_RETRY_HORIZON * 3:
        report = deliver_due(moment)
        assert (report.sent, report.retrying, report.failed) == (0, 0, 0)
        runs += 1
        moment += timedelta(minutes=1)
    assert runs > 360
    assert states() == Counter({"pending": 12}) and attempts() == {0}
    state = delivery.relay_state("smtp")
    assert state.down_since == NOW
    # It kept trying the relay, once per run at most every 5 minutes, not once per message and run.
    assert runs // 6 < state.failures < runs // 4
    assert state.next_try_at <= moment + delivery.RELAY_LONGEST_RETRY_AFTER

    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=smtp)
    server.start()
    try:
        for _ in range(6):  # the scheduler keeps running; within the relay's back-off the mail goes out
            deliver_due(moment)
            moment += timedelta(minutes=1)
    finally:
        server.stop()
    assert Counter(inbox.ids) == Counter({notification_id: 1 for notification_id in ids})
    assert states() == Counter({"sent": 12}) and attempts() == {1}
    db.session.expire_all()
    recovered = delivery.relay_state("smtp")
    assert (recovered.down_since, recovered.failures, recovered.next_try_at) == (None, 0, None)


def test_a_hung_relay_costs_one_connection_per_run_and_no_attempts(app, session, smtp):
    ids = queue_many(50, "hung")
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", smtp))
    listener.listen(128)  # the kernel completes every handshake; nobody ever answers
    try:
        first = deliver_due(NOW)
        second = deliver_due(NOW + timedelta(seconds=1))  # within the relay's back-off
        listener.setblocking(False)
        connections = []
        while True:
            try:
                connections.append(listener.accept()[0])
            except BlockingIOError:
                break
    finally:
        for connection in connections:
            connection.close()
        listener.close()
    # Before: one connection and one counted attempt per message, 30 s each (50 messages: 25 minutes).
    assert len(connections) == 1
    assert first.relay_down and (first.sent, first.retrying, first.failed) == (0, 0, 0)
    assert second.relay_waiting and not second.relay_down
    assert states() == Counter({"pending": 50}) and attempts() == {0}
    assert all(row(n).claimed_at is None for n in ids)
    state = delivery.relay_state("smtp")
    assert state.failures == 1 and state.down_since == NOW
    assert "timed out" in state.last_error or "TimeoutError" in state.last_error


def test_a_busy_greeting_stops_the_run_without_counting(app, session, smtp):
    queue_many(5, "busy")
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", smtp))
    listener.listen(16)
    accepted = []

    def answer_busy():
        while True:
            try:
                connection, _address = listener.accept()
            except OSError:
                return
            accepted.append(1)
            connection.sendall(b"421 too busy, try later\r\n")
            connection.close()

    thread = threading.Thread(target=answer_busy, daemon=True)
    thread.start()
    try:
        report = deliver_due(NOW)
    finally:
        stop_listening(listener)
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(accepted) == 1
    assert report.relay_down and states() == Counter({"pending": 5}) and attempts() == {0}
    assert "421" in delivery.relay_state("smtp").last_error


def test_a_refused_recipient_counts_against_that_message_only(app, session, smtp):
    class RefuseOne(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("refused"):
                return "550 no such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    good = queue(factories.sme("good@example.com").id)
    bad = queue(factories.sme("refused@example.com").id)
    inbox = RefuseOne()
    server = Controller(inbox, hostname="127.0.0.1", port=smtp)
    server.start()
    try:
        report = deliver_due(NOW)
    finally:
        server.stop()
    assert (report.sent, report.retrying, report.relay_down) == (1, 1, False)
    assert inbox.ids == [good]
    refused = row(bad)
    assert (refused.status, refused.attempts, refused.next_attempt_at) == ("pending", 1, NOW + timedelta(minutes=1))
    assert "550" in refused.last_error
    assert delivery.relay_state("smtp").down_since is None


# ---- send-by times ------------------------------------------------------------------------------------------

def test_a_reminder_held_up_past_its_send_by_time_is_dropped_not_sent_late(app, session, smtp):
    user = factories.sme("late@example.com")
    user = db.session.get(User, user.id)
    assert enqueue(user, "meeting_reminder_1h", "meeting", 7,
                   Message("会谈提醒", "1 小时后开始。", "Reminder", "In one hour.", not_after=NOW + timedelta(minutes=50)))
    assert enqueue(user, "schedule_published", "event_session", 7, MESSAGE)
    db.session.commit()
    reminder, timeless = (db.session.scalar(select(Notification.id).where(Notification.kind == kind))
                          for kind in ("meeting_reminder_1h", "schedule_published"))
    for minutes in range(0, 120, 5):  # the relay is down for two hours
        deliver_due(NOW + timedelta(minutes=minutes))
    assert row(reminder).status == "expired" and row(timeless).status == "pending"

    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=smtp)
    server.start()
    try:
        for minutes in range(120, 130):
            deliver_due(NOW + timedelta(minutes=minutes))
    finally:
        server.stop()
    assert inbox.ids == [timeless]
    dropped = row(reminder)
    assert (dropped.status, dropped.sent_at, dropped.attempts) == (DeliveryStatus.EXPIRED, None, 0)
    assert "send-by" in dropped.last_error


def test_a_claim_is_not_made_after_the_send_by_time(session):
    user = db.session.get(User, factories.sme().id)
    enqueue(user, "meeting_reminder_1h", "meeting", 1, Message("a", "b", "c", "d", not_after=NOW))
    db.session.commit()
    notification_id = db.session.scalar(select(Notification.id))
    assert not delivery.claim(notification_id, NOW)
    db.session.rollback()
    assert delivery.claim(notification_id, NOW - timedelta(seconds=1))


def test_meeting_reminders_carry_their_send_by_time(app):
    people = s.make_people(app, smes=("A",), institutions=("I1",))
    [meeting_id] = s.published_meetings(app, people, [("A", "I1", 1)])
    with app.app_context():
        from events.models import Meeting
        meeting = db.session.get(Meeting, meeting_id)
        starts_at = meeting.starts_at
        assert reminders.send_meeting_reminders(starts_at - timedelta(minutes=30)) == 2
        db.session.commit()
        rows = db.session.scalars(select(Notification)).all()
        assert {(r.kind, r.not_after) for r in rows} == {("meeting_reminder_1h", starts_at)}
        assert reminders.send_by(starts_at, "24h") == starts_at - timedelta(hours=1)

        report = deliver_due(starts_at + timedelta(minutes=1))  # held up until after the start
        assert (report.expired, report.sent) == (2, 0)
        assert states() == Counter({"expired": 2})
        assert delivery.SENT_IN_MEMORY == []


# ---- requeueing what failed for good ------------------------------------------------------------------------

def fail_for_good(notification_ids: list[int], failed_at) -> None:
    for notification_id in notification_ids:
        assert delivery.claim(notification_id, NOW)
        db.session.execute(
            Notification.__table__.update().where(Notification.id == notification_id)
            .values(attempts=delivery.MAX_ATTEMPTS - 1))
        assert delivery.mark_failed(notification_id, failed_at, ConnectionError("old outage")) == "failed"
    db.session.commit()


def test_the_cli_requeues_failed_messages(app, session):
    ids = queue_many(4, "cli")
    fail_for_good(ids[:2], NOW - timedelta(days=3))
    fail_for_good(ids[2:], NOW - timedelta(minutes=30))
    runner = app.test_cli_runner()

    status = runner.invoke(outbox_group, ["status"])
    assert status.exit_code == 0, status.output
    assert "failed:     4" in status.output and "relay (memory): ok" in status.output

    recent = runner.invoke(outbox_group, ["retry", "--since", "1d"])
    assert recent.exit_code == 0, recent.output
    assert "requeued 2" in recent.output
    assert [row(n).status for n in ids] == ["failed", "failed", "pending", "pending"]
    assert {row(n).attempts for n in ids[2:]} == {0}

    one = runner.invoke(outbox_group, ["retry", "--id", str(ids[0])])
    assert "requeued 1" in one.output and row(ids[0]).status == "pending"
    rest = runner.invoke(outbox_group, ["retry", "--all"])
    assert "requeued 1" in rest.output

    report = deliver_due(NOW + timedelta(minutes=5))  # requeued rows are due at once (wall clock)
    assert report.sent == 4
    assert states() == Counter({"sent": 4})


@pytest.mark.parametrize(("arguments", "named"), [
    ([], "--all"), (["--all", "--id", "3"], "--id"), (["--id", "0"], "--id"), (["--id", "x"], "--id"),
    (["--since", "yesterday"], "--since"), (["--since", "99999999d"], "--since"), (["--since", "2999-01-01"], "--since"),
    (["--since", "1d\x00"], "--since"),
])
def test_bad_retry_arguments_exit_2_naming_the_argument(app, session, arguments, named):
    result = app.test_cli_runner().invoke(outbox_group, ["retry", *arguments])
    assert result.exit_code == 2, result.output
    assert named in result.output


def test_the_outbox_commands_are_registered():
    from chainmatch.cli import cli
    assert set(cli.commands["outbox"].commands) == {"status", "retry"}


def test_status_shows_a_relay_that_is_down(app, session, smtp):
    queue_many(1, "status")
    deliver_due(NOW)
    result = app.test_cli_runner().invoke(outbox_group, ["status"])
    assert "waiting:    1" in result.output
    assert "relay (smtp): DOWN since" in result.output and "ConnectionRefusedError" in result.output


def test_admins_see_the_counts_and_requeue_with_a_button(app, client):
    with app.app_context():
        factories.admin("outbox-admin@example.com")
        ids = queue_many(3, "web")
        fail_for_good(ids[:2], NOW)
    sign_in(client, "outbox-admin@example.com")
    page = client.get("/reports/").get_data(as_text=True)
    assert "待发送 1 条，发送失败 2 条。" in page
    action = 'action="/messages/outbox/requeue"'
    assert action in page
    form = page[page.index(action) - 200:page.index("</form>", page.index(action))]
    assert 'name="csrf_token"' in form and "onclick" not in form
    assert client.get("/messages/outbox/requeue").status_code == 405

    response = client.post("/messages/outbox/requeue", data={"next": "/reports/"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/reports/")
    with app.app_context():
        assert states() == Counter({"pending": 3})
        assert {row(n).attempts for n in ids} == {0}
    after = client.get("/organiser/events").get_data(as_text=True)
    assert "待发送 3 条，发送失败 0 条。" in after and action not in after


def test_organisers_see_the_counts_but_cannot_requeue(app, client):
    with app.app_context():
        factories.organiser(email="outbox-organiser@example.com")
        ids = queue_many(2, "org")
        fail_for_good(ids[:1], NOW)
        app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(),
                          SMTP_CONNECT_TIMEOUT=0.5)
        try:
            deliver_due(NOW)  # nobody listens: the relay is down
        finally:
            app.config.update(MAIL_BACKEND="memory", SMTP_CONNECT_TIMEOUT=None)
    sign_in(client, "outbox-organiser@example.com")
    page = client.get("/reports/").get_data(as_text=True)
    assert "发送失败 1 条" in page and "/messages/outbox/requeue" not in page
    assert client.post("/messages/outbox/requeue").status_code == 403
    with app.app_context():
        assert states()["failed"] == 1


# ---- the claim lease ------------------------------------------------------------------------------------------

def test_the_lease_is_that_of_one_message(app):
    connect, command = delivery.smtp_timeouts({})
    assert delivery.claim_lease({}) == timedelta(seconds=2 * (connect + command)) <= timedelta(minutes=1)
    with pytest.raises(ValueError, match="SMTP_COMMAND_TIMEOUT"):
        delivery.smtp_timeouts({"SMTP_COMMAND_TIMEOUT": 0})


def test_a_claim_abandoned_mid_send_is_delivered_after_the_short_lease(app, session, smtp):
    app.config.update(SMTP_CONNECT_TIMEOUT=None, SMTP_COMMAND_TIMEOUT=None)  # the defaults' lease
    lease = delivery.claim_lease(app.config)
    [abandoned, other] = queue_many(2, "lease")
    assert delivery.claim(abandoned, NOW)  # a deliverer took it, then was killed before sending
    db.session.commit()

    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=smtp)
    server.start()
    try:
        early = deliver_due(NOW + lease - timedelta(seconds=1))
        assert inbox.ids == [other] and row(abandoned).status == "sending" and early.released == 0
        late = deliver_due(NOW + lease + timedelta(seconds=1))
    finally:
        server.stop()
    assert late.released == 1 and late.sent == 1
    assert Counter(inbox.ids) == Counter({abandoned: 1, other: 1})
    assert row(abandoned).status == "sent" and row(abandoned).attempts == 1


def test_a_relay_that_hangs_mid_message_stops_the_run_at_the_command_deadline(app, session, smtp):
    """The relay greets and takes MAIL and RCPT, then never answers DATA: one connection, nothing counted."""
    queue_many(3, "stall")
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", smtp))
    listener.listen(16)
    commands, connections = [], []

    def serve():
        while True:
            try:
                connection, _address = listener.accept()
            except OSError:
                return
            connections.append(connection)
            connection.sendall(b"220 relay ready\r\n")
            reader = connection.makefile("rb")
            for line in reader:
                verb = line.split(b" ")[0].strip().upper()
                commands.append(verb.decode())
                if verb == b"DATA":
                    break  # and never answer
                connection.sendall(b"250 ok\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        report = deliver_due(NOW)
    finally:
        stop_listening(listener)
        for connection in connections:
            connection.close()
        thread.join(timeout=5)
    assert len(connections) == 1 and commands == ["EHLO", "MAIL", "RCPT", "DATA"]
    assert report.relay_down and (report.sent, report.retrying, report.failed) == (0, 0, 0)
    assert states() == Counter({"pending": 3}) and attempts() == {0}
    assert delivery.relay_state("smtp").failures == 1
