"""The outbox table. Its unique key makes every message idempotent."""
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chainmatch.extensions import db
from market.enums import LabelledEnum, sql_in
from market.models import utcnow


class DeliveryStatus(LabelledEnum):
    """pending → sending (claimed by one deliverer) → sent, or back to pending for a retry, or failed."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"

    @classmethod
    def _labels(cls):
        from flask_babel import lazy_gettext as _l
        return {cls.PENDING: _l("待发送"), cls.SENDING: _l("发送中"), cls.SENT: _l("已发送"),
                cls.FAILED: _l("发送失败")}


class Notification(db.Model):
    """A message to one user about one object (e.g. kind "meeting_reminder_24h", object ("meeting", 17))."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "object_type", "object_id"),
        CheckConstraint(sql_in(DeliveryStatus, "status"), name="status_known"),
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
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)  # when a deliverer took it (status sending)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

    user = relationship("User")  # by name: a domain package does not import the shell's accounts

    @property
    def is_unread(self) -> bool:
        return self.read_at is None
