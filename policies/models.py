"""Tables of 政策对接: the policy library as stored, and what each SME told us about itself.

The policy row's `definition` (the policy's mapping, as in `seeds/policies.yaml`, with its source's
defaults applied and dates as ISO strings) is the truth: the evaluation parses it with
`policies.parse_policy`. The other columns are copies written from the parsed definition whenever
it changes, so that lists, deadlines and reminders can be queried in SQL.
"""
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import db

KEY_MAX = 60
TITLE_MAX = 300


class Policy(db.Model):
    """One clause of a source document that an SME can apply for (e.g. 第(三)条 算力券)."""

    __tablename__ = "policies"
    __table_args__ = (
        CheckConstraint("length(key) > 0", name="key_not_empty"),
        CheckConstraint("valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until",
                        name="validity_in_order"),
        CheckConstraint("enterprise_deadline IS NULL OR district_deadline IS NULL "
                        "OR enterprise_deadline <= district_deadline", name="deadlines_in_order"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX), unique=True)  # the library's id, e.g. compute_voucher
    sort_order: Mapped[int] = mapped_column(Integer, default=0)  # library order (ties in 从优 go to the first)
    source_key: Mapped[str] = mapped_column(String(KEY_MAX))
    title_zh: Mapped[str] = mapped_column(String(TITLE_MAX))
    title_en: Mapped[str] = mapped_column(String(TITLE_MAX))
    issuer_zh: Mapped[str] = mapped_column(String(TITLE_MAX))
    issuer_en: Mapped[str] = mapped_column(String(TITLE_MAX))
    source_title_zh: Mapped[str] = mapped_column(String(TITLE_MAX))
    source_title_en: Mapped[str] = mapped_column(String(TITLE_MAX))
    clause_zh: Mapped[str] = mapped_column(String(KEY_MAX))
    clause_en: Mapped[str] = mapped_column(String(KEY_MAX))
    clause_text: Mapped[str] = mapped_column(Text)
    responsible_unit_zh: Mapped[str] = mapped_column(String(TITLE_MAX))
    responsible_unit_en: Mapped[str] = mapped_column(String(TITLE_MAX))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    enterprise_deadline: Mapped[date | None] = mapped_column(Date, index=True)
    district_deadline: Mapped[date | None] = mapped_column(Date)
    chains: Mapped[list] = mapped_column(JSON, default=list)  # chain codes; empty: any chain
    regions: Mapped[list] = mapped_column(JSON, default=list)  # GB/T 2260 codes
    materials: Mapped[list] = mapped_column(JSON, default=list)  # [{"zh": ..., "en": ...}] as listed
    definition: Mapped[dict] = mapped_column(JSON)
    is_seeded: Mapped[bool] = mapped_column(Boolean, default=True)  # False once an organiser edited it
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    def title(self, locale: str = "zh") -> str:
        return self.title_en if locale == "en" else self.title_zh

    def clause(self, locale: str = "zh") -> str:
        return self.clause_en if locale == "en" else self.clause_zh


class EnterpriseFact(db.Model):
    """One answer an SME gave about itself (a fact of the policy vocabulary), asked once, kept."""

    __tablename__ = "enterprise_facts"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "name"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(KEY_MAX))
    value: Mapped[object] = mapped_column(JSON)  # JSON form: money as a decimal string, dates ISO, lists sorted
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
