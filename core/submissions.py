"""One-time submission tokens: a create form posted twice (a double click, a resent request, two workers at
once) makes one row, and the second post is sent where the first one went.

The page carries a signed token (a hidden field of `OneSubmission`), bound to the form and to the user (or
the anonymous session) and valid for TOKEN_HOURS. The view calls `claim(form)` before it creates anything:
that inserts the token into `submission_tokens` inside the same transaction as the create. The table's
unique key decides the race on both databases — on PostgreSQL the second insert waits for the first
transaction and fails once it commits; on SQLite the write lock orders them — and the loser is told where
the first post went (`result_url`, stored by `fulfil`). A create refused with a field error rolls the token
back with everything else, so the corrected form can be sent again with the same token.

Rows older than KEEP_HOURS (longer than any token is accepted) are deleted by the scheduler's sweep
(`purge_submission_tokens`), so the table stays as small as one day's creates.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, flash, redirect, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import DateTime, ForeignKey, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import HiddenField
from wtforms.validators import ValidationError

from core.clock import utcnow
from core.extensions import db

TOKEN_HOURS = 12  # a form left open longer must be reloaded
KEEP_HOURS = 24  # a claimed token is kept longer than any token is accepted, so a late replay still meets it
FIELD = "submission_token"


class SubmissionToken(db.Model):
    """A create form's token once it was posted: who, which form, and where the post led."""

    __tablename__ = "submission_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    form_name: Mapped[str] = mapped_column(String(60))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    result_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


# ---- issuing and checking a token ---------------------------------------------------------------

def _owner() -> str:
    """Whom a token is bound to: the signed-in user, else this browser's session."""
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    if "submission_owner" not in session:
        session["submission_owner"] = secrets.token_hex(8)
    return f"session:{session['submission_owner']}"


def _signature(form_name: str, issued: int, nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"submission|{form_name}|{_owner()}|{issued}|{nonce}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def issue(form_name: str, now: float | None = None) -> str:
    """A fresh token for one rendering of `form_name`: issued-at, a random nonce, and their signature."""
    issued = int(now if now is not None else time.time())
    nonce = secrets.token_hex(16)
    return f"{issued}.{nonce}.{_signature(form_name, issued, nonce)}"


def nonce_of(form_name: str, token: str, now: float | None = None) -> str:
    """The token's nonce if it is genuine, this user's, this form's and fresh; else ValidationError."""
    parts = (token or "").split(".")
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 12:
        raise ValidationError(_l("提交凭证无效，请刷新页面后重新提交。"))
    issued, nonce, signature = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(signature, _signature(form_name, issued, nonce)):
        raise ValidationError(_l("提交凭证无效，请刷新页面后重新提交。"))
    age = (now if now is not None else time.time()) - issued
    if not -300 <= age <= TOKEN_HOURS * 3600:
        raise ValidationError(_l("表单已打开太久，请刷新页面后重新提交。"))
    return nonce


def required() -> bool:
    """Production refuses a create post without a token; the test suite's app may switch that off, as it
    does CSRF, for the tests that post forms directly (a token that is sent is checked either way)."""
    return current_app.config.get("SUBMISSION_TOKENS_REQUIRED", True)


class SubmissionTokenField(HiddenField):
    """The hidden token; a missing value stays missing (it is never replaced by a fresh default)."""

    def process_formdata(self, valuelist):
        self.data = valuelist[0] if valuelist else ""


class OneSubmission:
    """Mix into a create form (before FlaskForm): the page carries a one-time token, the post is checked.

    `submission_form` names the form in the token (default: the class name)."""

    submission_form: str | None = None
    submission_token = SubmissionTokenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_submitted() or not self.submission_token.data and not self.submission_token.raw_data:
            self.submission_token.data = issue(self.submission_name())

    @classmethod
    def submission_name(cls) -> str:
        return cls.submission_form or cls.__name__

    def new_token(self) -> str:
        """Another token of this form, for a page that renders it as several little forms (one per choice)."""
        return issue(self.submission_name())

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.submission_token.errors:
            for error in self.submission_token.errors:  # a hidden field: say it above the form
                if error not in self.form_errors:
                    self.form_errors.append(error)
            self.submission_token.data = issue(self.submission_name())  # the page shown again can be sent
        return valid

    def validate_submission_token(self, field):
        if not field.raw_data or not field.raw_data[0]:
            if required():
                raise ValidationError(_l("表单缺少提交凭证，请刷新页面后重新提交。"))
            return
        nonce_of(self.submission_name(), field.raw_data[0])


# ---- claiming a token in the create's transaction -----------------------------------------------

@dataclass
class Claim:
    """A claimed token (fulfil it with the created thing's address), or `earlier`: where the first post went."""
    row: SubmissionToken | None = None
    earlier: str | None = None

    @property
    def already_done(self) -> bool:
        return self.earlier is not None


def _earlier(nonce: str, fallback: str) -> str:
    url = db.session.scalar(select(SubmissionToken.result_url).where(SubmissionToken.token == nonce))
    return url or fallback


def claim(form, fallback_url: str) -> Claim:
    """Insert the form's token now, in the transaction that will create the row.

    If it was claimed already (committed by an earlier post, or by a concurrent one that just committed),
    returns a Claim whose `earlier` is where that post went (`fallback_url` when it stored none). A form
    validated without a token (allowed only where `required()` is off) claims nothing."""
    raw = form.submission_token.raw_data[0] if form.submission_token.raw_data else ""
    if not raw:
        return Claim()
    nonce = nonce_of(form.submission_name(), raw)
    if db.session.scalar(select(SubmissionToken.id).where(SubmissionToken.token == nonce)) is not None:
        return Claim(earlier=_earlier(nonce, fallback_url))
    user_id = current_user.id if current_user and current_user.is_authenticated else None
    row = SubmissionToken(token=nonce, form_name=form.submission_name()[:60], user_id=user_id, created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return Claim(earlier=_earlier(nonce, fallback_url))
    return Claim(row=row)


def fulfil(claimed: Claim, url: str) -> None:
    """Remember where the create led, for a repeated post of the same form."""
    if claimed.row is not None:
        claimed.row.result_url = url[:500]
        db.session.flush()


def already_done(claimed: Claim):
    """The answer to a repeated post: nothing was created again; go where the first post went."""
    db.session.rollback()
    flash(_("该表单已提交过，未重复创建。"), "info")
    return redirect(claimed.earlier)


def purge_submission_tokens(now: datetime) -> int:
    """Scheduler job: forget tokens older than any form that could still carry them."""
    result = db.session.execute(delete(SubmissionToken).where(
        SubmissionToken.created_at < now - timedelta(hours=KEEP_HOURS)))
    return result.rowcount or 0
