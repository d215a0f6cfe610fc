"""Delivering the outbox: claim one due row, hand it to a mail backend, record what happened.

The verbs here flush and never commit; `notifications.jobs.deliver_due` commits after each step, so a
claim is visible to every other deliverer before the message leaves. A row is sent by whoever turns
it from pending into sending with a conditional UPDATE, so two deliverers never send one message twice.

Two kinds of failure. A *relay* failure (connection refused, a timeout, the server hanging up, a 4xx/421
greeting, HELO or sender refusal, failed STARTTLS or login) says nothing about the message: the claimed row
goes back untouched, the relay's state (`MailRelayState`) records it once, the run stops, and delivery as a
whole waits 30 s, 1, 2, 4 … at most 5 minutes before it tries the relay again. A *message* failure (a
recipient or the content refused) counts against that message: exponential back-off, `failed` after
MAX_ATTEMPTS (`chainmatch outbox retry` requeues it). A row whose send-by time (`not_after`) passed unsent
becomes `expired` instead of going out late.

Backends (config MAIL_BACKEND): "smtp" (SMTP_HOST, SMTP_PORT, MAIL_FROM; optional SMTP_USERNAME,
SMTP_PASSWORD, SMTP_STARTTLS; SMTP_CONNECT_TIMEOUT and SMTP_COMMAND_TIMEOUT in seconds), "file" (one .eml per
message in MAIL_FILE_DIR, default instance/outbox/ — the demo), "console" (the log) and "memory" (tests read
`SENT_IN_MEMORY`).
"""
import logging
import os
import smtplib
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.extensions import db
from notifications.models import DeliveryStatus, MailRelayState, Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY_AFTER = timedelta(minutes=1)
LONGEST_RETRY_AFTER = timedelta(hours=6)
RELAY_FIRST_RETRY_AFTER = timedelta(seconds=30)
RELAY_LONGEST_RETRY_AFTER = timedelta(minutes=5)
# Seconds. Connect: TCP, greeting, EHLO, STARTTLS and login together. Command: one message's whole exchange
# (MAIL, RCPT, DATA, the content and the final reply). Each is a deadline, not a per-read timeout, so a relay
# that trickles bytes cannot hold a message longer either.
SMTP_CONNECT_TIMEOUT = 5.0
SMTP_COMMAND_TIMEOUT = 15.0
LONGEST_SMTP_TIMEOUT = 300.0

SENT_IN_MEMORY: list[EmailMessage] = []


class RecipientUnreachable(Exception):
    """Sending cannot succeed later either (the recipient is disabled or has no address)."""


def smtp_timeouts(config) -> tuple[float, float]:
    """(connect, command) deadlines in seconds: app config SMTP_CONNECT_TIMEOUT / SMTP_COMMAND_TIMEOUT, else the
    environment variables of those names, else 5 and 15."""
    values = []
    for key, default in (("SMTP_CONNECT_TIMEOUT", SMTP_CONNECT_TIMEOUT), ("SMTP_COMMAND_TIMEOUT", SMTP_COMMAND_TIMEOUT)):
        raw = config.get(key)
        if raw in (None, ""):
            raw = os.environ.get(key)
        try:
            value = default if raw in (None, "") else float(raw)
        except ValueError:
            raise ValueError(f"{key} must be a number of seconds, not {raw!r}") from None
        if not 0 < value <= LONGEST_SMTP_TIMEOUT:
            raise ValueError(f"{key} must be between 0 and {LONGEST_SMTP_TIMEOUT:g} seconds, not {raw!r}")
        values.append(value)
    return values[0], values[1]


def claim_lease(config) -> timedelta:
    """How long a claim may stay in `sending` before it counts as abandoned: twice the longest a live deliverer
    can hold one message (connecting, then that message's exchange), so a live deliverer keeps its row and a
    killed one's row is sent again within a minute or so. (A crash between the relay accepting a message and
    our commit can still send that one message twice — at least once, by design.)"""
    connect, command = smtp_timeouts(config)
    return timedelta(seconds=2 * (connect + command))


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off after the `attempts`-th failed try: 1, 2, 4 ... minutes, at most 6 hours."""
    delay = FIRST_RETRY_AFTER * (2 ** min(max(attempts - 1, 0), 20))
    return min(delay, LONGEST_RETRY_AFTER)


def relay_retry_delay(failures: int) -> timedelta:
    """Wait after the `failures`-th relay failure in a row: 30 s, 1, 2, 4 minutes, at most 5 minutes."""
    return min(RELAY_FIRST_RETRY_AFTER * (2 ** min(max(failures - 1, 0), 20)), RELAY_LONGEST_RETRY_AFTER)


def is_relay_failure(error: Exception) -> bool:
    """True when `error` is about the relay or the connection, not about this one message."""
    if isinstance(error, (smtplib.SMTPConnectError, smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError)):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):  # 421 is the server closing; others are the address
        return bool(error.recipients) and all(code == 421 for code, _text in error.recipients.values())
    if isinstance(error, smtplib.SMTPSenderRefused):  # our sender is the same for every message
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPResponseException):  # DATA refused and the like
        return error.smtp_code == 421
    # SMTPServerDisconnected, SMTPNotSupportedError (no STARTTLS) and every socket error: refused, timed out …
    return isinstance(error, OSError)


# ---- the relay's state ---------------------------------------------------------------------------------

def relay_state(name: str) -> MailRelayState | None:
    return db.session.get(MailRelayState, name)


def relay_ready(name: str, now: datetime) -> bool:
    """False while delivery backs off after a relay failure."""
    next_try_at = db.session.scalar(select(MailRelayState.next_try_at).where(MailRelayState.name == name))
    return next_try_at is None or next_try_at <= now


def _ensure_relay_row(name: str) -> None:
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(MailRelayState).values(name=name, failures=0, last_error="")
                       .on_conflict_do_nothing(index_elements=["name"]))


def record_relay_failure(name: str, now: datetime, error: Exception) -> MailRelayState:
    """Once per run: the relay failed; delivery waits a little longer after each failure in a row."""
    _ensure_relay_row(name)
    db.session.execute(update(MailRelayState).where(MailRelayState.name == name).values(
        failures=MailRelayState.failures + 1, down_since=func.coalesce(MailRelayState.down_since, now),
        last_error=f"{type(error).__name__}: {error}"[:1000]))
    db.session.expire_all()
    state = db.session.get(MailRelayState, name)
    state.next_try_at = now + relay_retry_delay(state.failures)
    db.session.flush()
    return state


def record_relay_ok(name: str, now: datetime) -> datetime | None:
    """The relay took a message: clear the outage. Returns since when it had been down (None if it was up)."""
    _ensure_relay_row(name)
    down_since = db.session.scalar(select(MailRelayState.down_since).where(MailRelayState.name == name))
    db.session.execute(update(MailRelayState).where(MailRelayState.name == name).values(
        down_since=None, failures=0, next_try_at=None, last_error="", last_ok_at=now))
    return down_since


# ---- the rows ------------------------------------------------------------------------------------------

def _still_timely(moment: datetime):
    return or_(Notification.not_after.is_(None), Notification.not_after > moment)


def release_stale_claims(now: datetime, lease: timedelta) -> int:
    """Rows left in `sending` by a deliverer that died go back to pending (not counted as an attempt)."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.status == DeliveryStatus.SENDING, Notification.claimed_at < now - lease)
        .values(status=DeliveryStatus.PENDING, next_attempt_at=now,
                last_error="投递中断，重新排队 / delivery interrupted, queued again"))
    return result.rowcount


def expire_stale(now: datetime) -> int:
    """Pending rows whose send-by time has passed become expired: a reminder after its meeting is noise."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.status == DeliveryStatus.PENDING, Notification.not_after.is_not(None),
               Notification.not_after <= now)
        .values(status=DeliveryStatus.EXPIRED,
                last_error="未能在有效期内发出，已放弃 / not sent before its send-by time, dropped"))
    return result.rowcount


def due_ids(now: datetime, limit: int) -> list[int]:
    return list(db.session.scalars(
        select(Notification.id)
        .where(Notification.status == DeliveryStatus.PENDING, Notification.next_attempt_at <= now,
               _still_timely(now))
        .order_by(Notification.next_attempt_at, Notification.id).limit(limit)))


def claim(notification_id: int, now: datetime) -> bool:
    """Take the row for this deliverer; False when someone else took it first or it is not due (any more)."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == DeliveryStatus.PENDING,
               Notification.next_attempt_at <= now, _still_timely(now))
        .values(status=DeliveryStatus.SENDING, claimed_at=now))
    return result.rowcount == 1


def mark_sent(notification_id: int, now: datetime) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.SENT, sent_at=now, last_error="", attempts=Notification.attempts + 1))


def release_claim(notification_id: int, error: Exception) -> None:
    """The relay failed while this row was claimed: back to pending as it was, the attempt not counted."""
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.PENDING, claimed_at=None,
                last_error=f"relay: {type(error).__name__}: {error}"[:1000]))


def mark_failed(notification_id: int, now: datetime, error: Exception) -> str:
    """A message-level failure: counted; back to pending with a later attempt time, or `failed` when retrying
    is pointless or exhausted."""
    row = db.session.get(Notification, notification_id)
    attempts = row.attempts + 1
    final = isinstance(error, RecipientUnreachable) or attempts >= MAX_ATTEMPTS
    status = DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == DeliveryStatus.SENDING)
        .values(status=status.value, last_error=f"{type(error).__name__}: {error}"[:1000], attempts=attempts,
                failed_at=now if final else None,
                next_attempt_at=now if final else now + retry_delay(attempts)))
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


class _DeadlineSMTP(smtplib.SMTP):
    """smtplib.SMTP whose every read and write waits at most until `deadline` (a time.monotonic() value)."""

    deadline: float | None = None

    def _arm(self) -> None:
        if self.deadline is None or self.sock is None:
            return
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the SMTP server did not answer in time")
        self.sock.settimeout(remaining)

    def send(self, s):
        self._arm()
        return super().send(s)

    def getreply(self):
        self._arm()
        return super().getreply()


class SmtpBackend:
    """One SMTP connection reused for the batch. Connecting is bounded by SMTP_CONNECT_TIMEOUT, each message's
    exchange by SMTP_COMMAND_TIMEOUT; a broken connection raises, and the run stops (`is_relay_failure`)."""

    def __init__(self, config: dict):
        self.config = config
        self.connect_timeout, self.command_timeout = smtp_timeouts(config)
        self.connection: _DeadlineSMTP | None = None

    def _connect(self) -> _DeadlineSMTP:
        connection = _DeadlineSMTP(timeout=self.connect_timeout)
        connection.deadline = time.monotonic() + self.connect_timeout
        try:
            code, message = connection.connect(self.config.get("SMTP_HOST", "127.0.0.1"),
                                               int(self.config.get("SMTP_PORT", 25)))
            if code != 220:
                raise smtplib.SMTPConnectError(code, message)
            connection.ehlo_or_helo_if_needed()
            if self.config.get("SMTP_STARTTLS"):
                connection.starttls()
                connection.ehlo()
            if self.config.get("SMTP_USERNAME"):
                connection.login(self.config["SMTP_USERNAME"], self.config.get("SMTP_PASSWORD", ""))
        except BaseException:
            connection.close()
            raise
        return connection

    def send(self, email: EmailMessage) -> None:
        if self.connection is None:
            self.connection = self._connect()
        self.connection.deadline = time.monotonic() + self.command_timeout
        try:
            self.connection.send_message(email)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            if is_relay_failure(error):
                self.close()
            raise  # smtplib sent RSET after a refusal: the connection serves the next message
        except OSError:  # disconnected, timed out …: this connection is done, and not worth a QUIT
            self.connection.close()
            self.connection = None
            raise

    def close(self) -> None:
        if self.connection is not None:
            self.connection.deadline = time.monotonic() + self.connect_timeout
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
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
