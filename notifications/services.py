"""Putting messages into the outbox. Delivery is the scheduler's job (see notifications.delivery)."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.extensions import db
from core.clock import utcnow
from core.roles import Role
from notifications.models import DeliveryStatus, MailRelayState, Notification


@dataclass(frozen=True)
class Message:
    """A message in both languages; the recipient's locale picks one when it is queued."""

    subject_zh: str
    body_zh: str
    subject_en: str
    body_en: str
    link: str = ""
    not_after: datetime | None = None  # send-by (UTC): unsent by then, the e-mail is dropped, not sent late


def enqueue(user, kind: str, object_type: str, object_id: int, message: Message) -> bool:
    """Queue `message` for `user` once: a second call for the same user × kind × object does nothing.

    Returns whether a row was added. Uses INSERT ... ON CONFLICT DO NOTHING RETURNING id, so two
    processes racing on the same message leave exactly one row.
    """
    english = getattr(user, "locale", "zh") == "en"
    values = {
        "user_id": user.id, "kind": kind, "object_type": object_type, "object_id": object_id,
        "subject": (message.subject_en if english else message.subject_zh)[:300],
        "body": message.body_en if english else message.body_zh, "link": message.link,
    }
    if message.not_after is not None:
        values["not_after"] = message.not_after
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Notification).values(**values).on_conflict_do_nothing(
        index_elements=["user_id", "kind", "object_type", "object_id"]).returning(Notification.id)
    # RETURNING rather than rowcount: with RETURNING in play psycopg reports rowcount -1.
    return db.session.execute(statement).first() is not None


def path_for(endpoint: str, **values) -> str:
    """The site path of a page (for a message's link), built without a request; "" if there is no such page.

    Jobs run outside requests, so `url_for` cannot be used; e-mails prefix the path with PUBLIC_BASE_URL.
    """
    from flask import current_app
    from werkzeug.routing import BuildError
    try:
        return current_app.url_map.bind("localhost").build(endpoint, values)
    except BuildError:
        return ""


# ---- the user's own messages (the messages page) -------------------------------------------------

def unread_count(actor) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == actor.id, Notification.read_at.is_(None))) or 0


def messages_for(actor, page: int, per_page: int) -> tuple[list[Notification], bool]:
    """One page of the actor's messages, newest first, and whether there is a next page."""
    rows = db.session.scalars(
        select(Notification).where(Notification.user_id == actor.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * per_page).limit(per_page + 1)).all()
    return list(rows[:per_page]), len(rows) > per_page


def own_message(actor, notification_id: int) -> Notification | None:
    message = db.session.get(Notification, notification_id)
    return message if message is not None and message.user_id == actor.id else None


def mark_read(actor, message: Notification) -> None:
    """Read now (the first time only); nothing for someone else's message."""
    db.session.execute(update(Notification).where(
        Notification.id == message.id, Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()))
    db.session.flush()


def mark_all_read(actor) -> int:
    result = db.session.execute(update(Notification).where(
        Notification.user_id == actor.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.flush()
    return result.rowcount


def is_site_path(link: str) -> bool:
    """Only same-site paths are followed from a message (never //host, /\\host or a scheme)."""
    return link.startswith("/") and not link.startswith("//") and "\\" not in link


# ---- the outbox as the operators see it ----------------------------------------------------------------

@dataclass(frozen=True)
class OutboxHealth:
    """What waits, what failed for good, since when the relay is down."""

    waiting: int
    failed: int
    expired: int
    oldest_due: datetime | None
    relay_down_since: datetime | None
    relay_next_try: datetime | None
    relay_error: str

    @property
    def troubled(self) -> bool:
        return bool(self.failed or self.relay_down_since)


def outbox_health(relay: str) -> OutboxHealth:
    counts = dict(db.session.execute(select(Notification.status, func.count(Notification.id))
                                     .group_by(Notification.status)).all())
    oldest_due = db.session.scalar(select(func.min(Notification.next_attempt_at))
                                   .where(Notification.status == DeliveryStatus.PENDING))
    state = db.session.get(MailRelayState, relay)
    return OutboxHealth(
        waiting=counts.get(DeliveryStatus.PENDING, 0) + counts.get(DeliveryStatus.SENDING, 0),
        failed=counts.get(DeliveryStatus.FAILED, 0), expired=counts.get(DeliveryStatus.EXPIRED, 0),
        oldest_due=oldest_due, relay_down_since=state.down_since if state else None,
        relay_next_try=state.next_try_at if state and state.down_since else None,
        relay_error=state.last_error if state and state.down_since else "")


class NotAllowed(PermissionError):
    """Only an administrator (or the operator at the command line) requeues the outbox."""


def requeue_failed(actor, now: datetime, *, ids: list[int] | None = None, since: datetime | None = None) -> int:
    """Failed messages back to pending, due at once with a fresh count of attempts. `actor` None is the operator
    at the command line; on the web only an administrator may. Without `ids` or `since` every failed message.
    A message whose send-by time has passed stays failed (it would only expire). Returns how many."""
    if actor is not None and getattr(actor, "role", None) != Role.ADMIN:
        raise NotAllowed("only administrators requeue the outbox")
    conditions = [Notification.status == DeliveryStatus.FAILED,
                  or_(Notification.not_after.is_(None), Notification.not_after > now)]
    if ids is not None:
        conditions.append(Notification.id.in_(ids))
    if since is not None:
        conditions.append(Notification.failed_at >= since)
    result = db.session.execute(update(Notification).where(*conditions).values(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, failed_at=None, claimed_at=None,
        last_error="重新排队 / requeued"))
    db.session.flush()
    return result.rowcount
