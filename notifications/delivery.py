"""Delivering the outbox: claim one due row, hand it to a mail backend, record what happened.

The verbs here flush and never commit; `notifications.jobs.deliver_due` commits after each step, so a
claim is visible to every other deliverer before the message leaves. A row is sent by whoever turns
it from pending into sending with a conditional UPDATE, so two deliverers never send one message twice.

Backends (config MAIL_BACKEND): "smtp" (SMTP_HOST, SMTP_PORT, MAIL_FROM; optional SMTP_USERNAME,
SMTP_PASSWORD, SMTP_STARTTLS), "file" (one .eml per message in MAIL_FILE_DIR, default instance/outbox/ — the demo),
"console" (the log) and "memory" (tests read `SENT_IN_MEMORY`).
"""
import logging
import smtplib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from sqlalchemy import select, update

from chainmatch.extensions import db
from notifications.models import DeliveryStatus, Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY_AFTER = timedelta(minutes=1)
LONGEST_RETRY_AFTER = timedelta(hours=6)
# A claim older than this is taken to belong to a deliverer that died mid-send; far longer than the
# SMTP timeout, so a live deliverer never loses its row. (A crash between the SMTP server accepting
# the message and our commit can therefore send that one message again — at least once, by design.)
CLAIM_LEASE = timedelta(minutes=15)
SMTP_TIMEOUT_SECONDS = 30

SENT_IN_MEMORY: list[EmailMessage] = []


class RecipientUnreachable(Exception):
    """Sending cannot succeed later either (the recipient is disabled or has no address)."""


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off after the `attempts`-th failed try: 1, 2, 4 ... minutes, at most 6 hours."""
    delay = FIRST_RETRY_AFTER * (2 ** max(attempts - 1, 0))
    return min(delay, LONGEST_RETRY_AFTER)


def release_stale_claims(now: datetime) -> int:
    """Rows left in `sending` by a deliverer that died go back to pending."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.status == DeliveryStatus.SENDING, Notification.claimed_at < now - CLAIM_LEASE)
        .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now,
                last_error="投递中断，重新排队 / delivery interrupted, queued again"))
    return result.rowcount


def due_ids(now: datetime, limit: int) -> list[int]:
    return list(db.session.scalars(
        select(Notification.id)
        .where(Notification.status == DeliveryStatus.PENDING, Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id).limit(limit)))


def claim(notification_id: int, now: datetime) -> bool:
    """Take the row for this deliverer; False when someone else took it first or it is not due."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == DeliveryStatus.PENDING,
               Notification.next_attempt_at <= now)
        .values(status=DeliveryStatus.SENDING.value, claimed_at=now, attempts=Notification.attempts + 1))
    return result.rowcount == 1


def mark_sent(notification_id: int, now: datetime) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.SENT.value, sent_at=now, last_error=""))


def mark_failed(notification_id: int, now: datetime, error: Exception) -> str:
    """Back to pending with a later attempt time, or `failed` when retrying is pointless or exhausted."""
    row = db.session.get(Notification, notification_id)
    final = isinstance(error, RecipientUnreachable) or row.attempts >= MAX_ATTEMPTS
    status = DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == DeliveryStatus.SENDING)
        .values(status=status.value, last_error=f"{type(error).__name__}: {error}"[:1000],
                next_attempt_at=now if final else now + retry_delay(row.attempts)))
    return status.value


def compose(notification: Notification, config: dict) -> EmailMessage:
    """The e-mail for one outbox row: to the user's address, with a stable Message-ID."""
    user = notification.user
    if user is None or not user.is_enabled or not user.email:
        raise RecipientUnreachable("recipient disabled or without an address")
    email = EmailMessage()
    email["Subject"] = notification.subject
    email["From"] = formataddr(("一月一链 · 益企畅融", config.get("MAIL_FROM", "noreply@chainmatch.local")))
    email["To"] = formataddr((user.display_name, user.email))
    email["Date"] = format_datetime(notification.created_at.replace(tzinfo=UTC), usegmt=True)
    domain = config.get("MAIL_FROM", "noreply@chainmatch.local").rpartition("@")[2] or "chainmatch.local"
    email["Message-ID"] = f"<notification-{notification.id}@{domain}>"
    email["X-Chainmatch-Notification"] = str(notification.id)
    email["X-Chainmatch-Kind"] = notification.kind
    body = notification.body
    if notification.link:
        base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
        body += "\n\n" + ("查看详情 / Details: " if user.locale != "en" else "Details: ") + base + notification.link
    email.set_content(body)
    return email


class MemoryBackend:
    def send(self, email: EmailMessage) -> None:
        SENT_IN_MEMORY.append(email)

    def close(self) -> None:
        pass


class ConsoleBackend:
    def send(self, email: EmailMessage) -> None:
        log.info("mail to %s: %s\n%s", email["To"], email["Subject"], email.get_content())

    def close(self) -> None:
        pass


class FileBackend:
    """One .eml file per message in a folder (the demo's outbox, readable with any mail client)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def send(self, email: EmailMessage) -> None:
        name = f"{int(email['X-Chainmatch-Notification']):08d}-{email['X-Chainmatch-Kind']}.eml"
        (self.folder / name).write_bytes(bytes(email))

    def close(self) -> None:
        pass


class SmtpBackend:
    """One SMTP connection reused for a batch; a broken connection is reopened for the next message."""

    def __init__(self, config: dict):
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        connection = smtplib.SMTP(self.config.get("SMTP_HOST", "127.0.0.1"), int(self.config.get("SMTP_PORT", 25)),
                                  timeout=SMTP_TIMEOUT_SECONDS)
        if self.config.get("SMTP_STARTTLS"):
            connection.starttls()
        if self.config.get("SMTP_USERNAME"):
            connection.login(self.config["SMTP_USERNAME"], self.config.get("SMTP_PASSWORD", ""))
        return connection

    def send(self, email: EmailMessage) -> None:
        if self.connection is None:
            self.connection = self._connect()
        try:
            self.connection.send_message(email)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.connection = None


def open_backend(config: dict, instance_path: str):
    name = config.get("MAIL_BACKEND", "file")
    if name == "smtp":
        return SmtpBackend(config)
    if name == "file":
        return FileBackend(Path(config.get("MAIL_FILE_DIR") or Path(instance_path) / "outbox"))
    if name == "console":
        return ConsoleBackend()
    if name == "memory":
        return MemoryBackend()
    raise ValueError(f"unknown MAIL_BACKEND {name!r} (smtp, file, console, memory)")
