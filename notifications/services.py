"""Putting messages into the outbox. Delivery is the scheduler's job (see notifications.delivery).

A service tells people with `notify(kind, recipients, object_key=(type, id), context={...})`: the subject and
body come from `templates/notifications/<kind>.txt` (first line the subject, the rest the body), rendered once
per language in the recipient's locale, its sentences translated by the English catalogue. Callers pass the
users in (`accounts.recipients` says who they are); this module knows only the outbox.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale, get_locale
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.routing import BuildError

from core.actors import is_system
from core.clock import utcnow
from core.errors import Forbidden
from core.extensions import db
from notifications.models import DeliveryStatus, MailRelayState, Notification


@dataclass(frozen=True)
class Bilingual:
    """A value that is itself written in both languages (a policy's title, a venue table's label): in a
    notification template it prints in the language being rendered."""

    zh: str
    en: str

    def __str__(self) -> str:
        locale = get_locale()
        return self.en if locale is not None and locale.language == "en" else self.zh


def locale_of(user) -> str:
    """The language a user reads messages in: their setting, Chinese unless it is English."""
    return "en" if getattr(user, "locale", "zh") == "en" else "zh"


def render(kind: str, locale: str, context: dict) -> tuple[str, str]:
    """(subject, body) of `templates/notifications/<kind>.txt` in `locale`: its first line, then the rest."""
    template = current_app.jinja_env.get_template(f"notifications/{kind}.txt")
    with force_locale(locale):
        text = template.render(**context)
    subject, _, body = text.strip().partition("\n")
    return subject.strip(), body.lstrip("\n").rstrip()


def notify(kind: str, recipients: Iterable, *, object_key: tuple[str, int], context: dict | None = None,
           link: str = "", not_after: datetime | None = None) -> int:
    """Queue the `kind` message about `object_key` (type, id) once for each recipient, in their language.

    Rendered once per language; a recipient who already has this message (user × kind × object) gets nothing
    new. Returns how many rows were added. `not_after`: unsent by then (UTC), the e-mail is dropped.
    """
    object_type, object_id = object_key
    rendered: dict[str, tuple[str, str]] = {}
    added = 0
    for user in recipients:
        locale = locale_of(user)
        if locale not in rendered:
            rendered[locale] = render(kind, locale, context or {})
        subject, body = rendered[locale]
        added += _insert(user, kind, object_type, object_id, subject, body, link, not_after)
    return added


@dataclass(frozen=True)
class Message:
    """A message already written in both languages (the operators' own notes, tests); services use `notify`."""

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
    english = locale_of(user) == "en"
    return _insert(user, kind, object_type, object_id, message.subject_en if english else message.subject_zh,
                   message.body_en if english else message.body_zh, message.link, message.not_after)


def _insert(user, kind: str, object_type: str, object_id: int, subject: str, body: str, link: str,
            not_after: datetime | None) -> bool:
    """One outbox row, unless the user already has this kind about this object; whether it was added."""
    values = {"user_id": user.id, "kind": kind, "object_type": object_type, "object_id": object_id,
              "subject": subject[:300], "body": body, "link": link}
    if not_after is not None:
        values["not_after"] = not_after
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


class NotAllowed(Forbidden):
    """Only an administrator (or the operator at the command line) requeues the outbox."""


def requeue_failed(actor, now: datetime, *, ids: list[int] | None = None, since: datetime | None = None) -> int:
    """Failed messages back to pending, due at once with a fresh count of attempts. The system actor
    `core.actors.OPERATOR` is the operator at the command line; on the web only an administrator may. Without `ids` or `since` every failed message.
    A message whose send-by time has passed stays failed (it would only expire). Returns how many."""
    if not is_system(actor) and getattr(actor, "role", None) != "admin":
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
