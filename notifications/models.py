"""The outbox table. Its unique key makes every message idempotent."""
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.enums import LabelledEnum, enum_column
from core.extensions import db


class DeliveryStatus(LabelledEnum):
    """pending → sending (claimed by one deliverer) → sent, or back to pending for a retry, or failed
    (requeued by `chainmatch outbox retry`), or expired: its send-by time (`not_after`) passed unsent."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"

    @classmethod
    def _labels(cls):
        from flask_babel import lazy_gettext as _l
        return {cls.PENDING: _l("待发送"), cls.SENDING: _l("发送中"), cls.SENT: _l("已发送"),
                cls.FAILED: _l("发送失败"), cls.EXPIRED: _l("已过期未发送")}


class Notification(db.Model):
    """A message to one user about one object (e.g. kind "meeting_reminder_24h", object ("meeting", 17))."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "object_type", "object_id"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus, 20, "status_known"),
                                                   default=DeliveryStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)  # when a deliverer took it (status sending)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Send-by: a reminder is pointless after its meeting starts; unsent by then, the row becomes expired.
    not_after: Mapped[datetime | None] = mapped_column(DateTime)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime)  # when it became failed (for `outbox retry --since`)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

    user = relationship("User")  # by name: accounts sits above notifications in the layers

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class MailRelayState(db.Model):
    """The mail relay as the deliverers last found it: one row per backend name ("smtp").

    A relay that refuses, hangs or drops the connection is recorded here once per delivery run (not on each
    message); delivery as a whole waits until `next_try_at`, and `down_since` tells the organisers since when.
    """

    __tablename__ = "mail_relay_state"
    __table_args__ = (CheckConstraint("failures >= 0", name="failures_not_negative"),)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    down_since: Mapped[datetime | None] = mapped_column(DateTime)  # NULL while the relay works
    failures: Mapped[int] = mapped_column(Integer, default=0)  # connection-level failures in a row
    next_try_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    last_ok_at: Mapped[datetime | None] = mapped_column(DateTime)
