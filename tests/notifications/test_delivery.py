"""The outbox's delivery: claims, retries with back-off, failures, and each backend."""
import smtplib
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from core.clock import utcnow
from core.extensions import db
from notifications import delivery
from notifications.jobs import deliver_due
from notifications.models import DeliveryStatus, Notification
from notifications.services import Message, enqueue
from tests.notifications.smtp_sink import free_port
from tests.support import factories

NOW = utcnow().replace(microsecond=0) + timedelta(hours=1)  # after every row's creation
MESSAGE = Message(subject_zh="会谈提醒", body_zh="明天 9:00 开始。", subject_en="Meeting reminder",
                  body_en="Starts tomorrow at 9:00.", link="/catalogue")


@pytest.fixture(autouse=True)
def _empty_memory_outbox():
    delivery.SENT_IN_MEMORY.clear()
    yield
    delivery.SENT_IN_MEMORY.clear()


def queue(user_id: int, kind: str = "meeting_reminder_24h", object_id: int = 1) -> int:
    from accounts.models import User
    user = db.session.get(User, user_id)
    assert enqueue(user, kind, "meeting", object_id, MESSAGE)
    db.session.commit()
    return db.session.scalar(select(Notification.id).where(Notification.user_id == user_id,
                                                           Notification.kind == kind,
                                                           Notification.object_id == object_id))


def row(notification_id: int) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, notification_id)


class Broken:
    """A relay that refuses the recipient (a message-level failure, counted against the message)."""

    def __init__(self):
        self.tries = 0

    def send(self, email):
        self.tries += 1
        address = email["To"].addresses[0].addr_spec
        raise smtplib.SMTPRecipientsRefused({address: (450, b"mailbox busy")})

    def close(self):
        pass


def test_a_message_is_sent_once_in_the_users_language(session):
    zh_user = factories.sme("zh@example.com")
    en_user = factories.sme("en@example.com")
    db.session.get(type(en_user), en_user.id).locale = "en"
    db.session.commit()
    zh_id, en_id = queue(zh_user.id), queue(en_user.id)
    assert not enqueue(db.session.get(type(zh_user), zh_user.id), "meeting_reminder_24h", "meeting", 1, MESSAGE)

    report = deliver_due(NOW)
    again = deliver_due(NOW + timedelta(minutes=5))

    assert (report.sent, again.sent) == (2, 0)
    by_address = {email["To"].addresses[0].addr_spec: email for email in delivery.SENT_IN_MEMORY}
    assert by_address["zh@example.com"]["Subject"] == "会谈提醒"
    assert by_address["en@example.com"]["Subject"] == "Meeting reminder"
    assert "查看详情" in by_address["zh@example.com"].get_content()
    assert by_address["zh@example.com"]["Message-ID"] == f"<notification-{zh_id}@chainmatch.local>"
    for notification_id in (zh_id, en_id):
        sent = row(notification_id)
        assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, NOW)


def test_failures_back_off_exponentially_then_give_up(session, monkeypatch):
    user = factories.sme()
    notification_id = queue(user.id)
    broken = Broken()
    monkeypatch.setattr(delivery, "open_backend", lambda config, path: broken)

    moment = NOW
    delays = []
    for attempt in range(1, delivery.MAX_ATTEMPTS + 1):
        if attempt > 1:  # not tried again before its time
            early = deliver_due(moment - timedelta(seconds=1))
            assert (early.retrying, early.failed, row(notification_id).attempts) == (0, 0, attempt - 1)
        report = deliver_due(moment)
        current = row(notification_id)
        assert current.attempts == attempt
        assert "mailbox busy" in current.last_error
        if attempt < delivery.MAX_ATTEMPTS:
            assert (report.retrying, current.status) == (1, "pending")
            delays.append(current.next_attempt_at - moment)
            moment = current.next_attempt_at
        else:
            assert (report.failed, current.status) == (1, "failed")
    assert delays[:4] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]
    assert all(later >= earlier for earlier, later in zip(delays, delays[1:]))
    assert max(delays) <= delivery.LONGEST_RETRY_AFTER
    assert broken.tries == delivery.MAX_ATTEMPTS
    assert deliver_due(moment + timedelta(days=1)).sent == 0


def test_only_one_deliverer_claims_a_row(session):
    user = factories.sme()
    notification_id = queue(user.id)
    assert delivery.claim(notification_id, NOW)
    db.session.commit()
    assert not delivery.claim(notification_id, NOW)
    db.session.rollback()
    assert row(notification_id).status == "sending"
    assert deliver_due(NOW).taken_by_others == 0  # not even listed: it is not pending
    assert delivery.SENT_IN_MEMORY == []


def test_a_claim_abandoned_by_a_dead_deliverer_is_retried_after_the_lease(app, session):
    user = factories.sme()
    notification_id = queue(user.id)
    assert delivery.claim(notification_id, NOW)
    db.session.commit()
    lease = delivery.claim_lease(app.config)

    assert deliver_due(NOW + lease - timedelta(seconds=1)).sent == 0
    assert deliver_due(NOW + lease + timedelta(seconds=1)).sent == 1
    assert row(notification_id).status == "sent"
    assert len(delivery.SENT_IN_MEMORY) == 1


def test_a_disabled_recipient_fails_at_once(session):
    user = factories.sme()
    notification_id = queue(user.id)
    db.session.get(type(user), user.id).is_enabled = False
    db.session.commit()
    report = deliver_due(NOW)
    assert report.failed == 1
    assert row(notification_id).status == "failed"
    assert delivery.SENT_IN_MEMORY == []


def test_retry_delay_is_capped():
    assert delivery.retry_delay(1) == timedelta(minutes=1)
    assert delivery.retry_delay(30) == delivery.LONGEST_RETRY_AFTER


def test_file_backend_writes_one_eml_per_message(app, session, tmp_path):
    user = factories.sme("file@example.com")
    notification_id = queue(user.id)
    app.config.update(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path / "outbox"))
    try:
        assert deliver_due(NOW).sent == 1
    finally:
        app.config.update(MAIL_BACKEND="memory", MAIL_FILE_DIR=None)
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert [f.name for f in files] == [f"{notification_id:08d}-meeting_reminder_24h.eml"]
    parsed = message_from_bytes(files[0].read_bytes(), policy=default_policy)
    assert parsed["To"].addresses[0].addr_spec == "file@example.com"
    assert "明天 9:00 开始。" in parsed.get_content()


class Collector:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


def test_smtp_backend_delivers_to_a_real_server(app, session):
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    users = [factories.sme(f"smtp{n}@example.com") for n in range(3)]
    for user in users:
        queue(user.id)
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    try:
        report = deliver_due(NOW)
    finally:
        app.config.update(MAIL_BACKEND="memory")
        controller.stop()
    assert report.sent == 3
    assert sorted(rcpt for rcpts, _content in collector.messages for rcpt in rcpts) == \
        [f"smtp{n}@example.com" for n in range(3)]


def test_a_refused_connection_is_the_relays_failure_not_the_messages(app, session):
    user = factories.sme()
    notification_id = queue(user.id)
    due_at = row(notification_id).next_attempt_at
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nobody listens
    try:
        report = deliver_due(NOW)
        waiting = deliver_due(NOW + timedelta(seconds=1))
    finally:
        app.config.update(MAIL_BACKEND="memory")
    assert (report.relay_down, report.retrying, report.failed) == (True, 0, 0)
    assert waiting.relay_waiting  # delivery as a whole backs off
    untouched = row(notification_id)
    assert (untouched.status, untouched.attempts, untouched.next_attempt_at) == (DeliveryStatus.PENDING, 0, due_at)
    assert "relay: ConnectionRefusedError" in untouched.last_error
    state = delivery.relay_state("smtp")
    assert (state.down_since, state.failures, state.next_try_at) == (NOW, 1, NOW + delivery.RELAY_FIRST_RETRY_AFTER)
