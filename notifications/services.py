"""Putting messages into the outbox. Delivery is the scheduler's job (see notifications.delivery)."""
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from chainmatch.extensions import db
from market.models import utcnow
from notifications.models import Notification


@dataclass(frozen=True)
class Message:
    """A message in both languages; the recipient's locale picks one when it is queued."""

    subject_zh: str
    body_zh: str
    subject_en: str
    body_en: str
    link: str = ""


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
