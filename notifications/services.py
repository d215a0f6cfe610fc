"""Putting messages into the outbox. Delivery is the scheduler's job (see notifications.delivery)."""
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from chainmatch.extensions import db
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

    Returns whether a row was added. Uses INSERT ... ON CONFLICT DO NOTHING, so two processes
    racing on the same message leave exactly one row.
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
        index_elements=["user_id", "kind", "object_type", "object_id"])
    result = db.session.execute(statement)
    return result.rowcount == 1
