"""Users, roles and organiser offices."""
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.enums import enum_column
from core.extensions import db
from core.regions import region_covers
from core.roles import Role
from market.models import Enterprise, Institution, Region

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
_dummy_hash: list[str] = []

DEMO_ADDRESS_DOMAIN = "demo.local"


def is_demo_address(email: str) -> bool:
    """The demo's accounts (sme@demo.local …): accepted by `chainmatch demo` only, never by a real instance."""
    return (email or "").strip().lower().endswith("@" + DEMO_ADDRESS_DOMAIN)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_hash(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other Argon2 parameters than today's (rehash at the next sign-in)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


def spend_password_check(password: str) -> None:
    """Verify against a throw-away hash, so an unknown email costs as much time as a wrong password."""
    if not _dummy_hash:
        _dummy_hash.append(_hasher.hash("not-a-real-password"))
    try:
        _hasher.verify(_dummy_hash[0], password)
    except VerificationError:
        pass


class OrganiserOffice(db.Model):
    """A 主办/承办 office (e.g. 杭州市经信局中小企业处), whose reach is its region."""

    __tablename__ = "organiser_offices"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    region: Mapped[Region] = relationship()

    def covers(self, region_code: str) -> bool:
        return region_covers(self.region_code, region_code)


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role <> 'sme' OR enterprise_id IS NOT NULL", name="sme_has_enterprise"),
        CheckConstraint("role <> 'institution' OR institution_id IS NOT NULL", name="institution_user_has_institution"),
        CheckConstraint("role <> 'organiser' OR organiser_office_id IS NOT NULL", name="organiser_has_office"),
        CheckConstraint("locale IN ('zh', 'en')", name="locale_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(60))
    role: Mapped[Role] = mapped_column(enum_column(Role, 20, "role_known"))
    locale: Mapped[str] = mapped_column(String(5), default="zh")
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"), index=True)
    organiser_office_id: Mapped[int | None] = mapped_column(ForeignKey("organiser_offices.id"))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set when the owner opened the link mailed at sign-up (or reset the password by mail); until
    # then the account cannot sign in, so sign-up does not reveal which addresses are registered.
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime)

    enterprise: Mapped[Enterprise | None] = relationship()
    institution: Mapped[Institution | None] = relationship()
    organiser_office: Mapped[OrganiserOffice | None] = relationship()

    # Flask-Login protocol. The session id carries the session version, so that logging out
    # everywhere or disabling the user invalidates copies of an old session cookie.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.is_enabled

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def password_needs_rehash(self) -> bool:
        return needs_rehash(self.password_hash)

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN
