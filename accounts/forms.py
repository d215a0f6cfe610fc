"""Sign-in, sign-up and password forms, and the audit log's filter."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from accounts.audit import AuditFilter, AuditKind
from accounts.passwords import PASSWORD_MAX, PASSWORD_MIN, is_guessable
from core.clock import utc_of_shanghai
from core.forms import enum_member
from market.fields import BoundedIntegerField
from market.forms import REQUIRED, EnterpriseForm, InstitutionForm

TOO_SHORT = _l("密码至少 10 位。")
GUESSABLE = _l("这个密码太常见或太容易猜到（如常用词、连续数字、键盘顺序、您的姓名或邮箱），请换一个更长、更不规则的密码。")
MISMATCH = _l("两次输入的密码不一致。")


class NotGuessable:
    """The password is refused when zxcvbn can guess it, judged with the named fields' values as the user's words."""

    def __init__(self, *own_words_fields: str):
        self.own_words_fields = own_words_fields

    def __call__(self, form, field):
        words = [getattr(form, name).data or "" for name in self.own_words_fields if hasattr(form, name)]
        if hasattr(form, "known_words"):
            words.extend(form.known_words)
        if field.data and is_guessable(field.data, *words):
            raise ValidationError(GUESSABLE)


def new_password_field(label=_l("密码"), *own_words_fields: str) -> PasswordField:  # noqa: B008 — a lazy label, made once
    return PasswordField(label, validators=[
        DataRequired(REQUIRED), Length(min=PASSWORD_MIN, max=PASSWORD_MAX, message=TOO_SHORT),
        NotGuessable(*own_words_fields)], description=_l("至少 10 位；不要用常见密码、连续数字或您的姓名、邮箱。"))


class SignInForm(FlaskForm):
    # No Email() here: signing in only looks the address up, and email_validator refuses special-use
    # domains such as the demo accounts' "@demo.local", which then could not sign in at all.
    email = EmailField(_l("邮箱"), validators=[DataRequired(REQUIRED), Length(max=254)])
    password = PasswordField(_l("密码"), validators=[DataRequired(REQUIRED), Length(max=PASSWORD_MAX)])
    remember = BooleanField(_l("记住我"))
    next = HiddenField()


class AccountFields:
    """Mixed into both sign-up forms: who signs in. Whether the address is taken is not checked here."""

    email = EmailField(_l("登录邮箱"), validators=[DataRequired(REQUIRED), Email(message=_l("邮箱格式不正确。")),
                                                 Length(max=254)])
    display_name = StringField(_l("您的姓名"), validators=[DataRequired(REQUIRED), Length(max=60)])
    password = new_password_field(_l("密码"), "email", "display_name", "name", "contact_name")
    confirm = PasswordField(_l("确认密码"), validators=[DataRequired(REQUIRED), EqualTo("password", message=MISMATCH)])
    next = HiddenField()

    def validate_email(self, field):
        field.data = (field.data or "").strip().lower()


class SmeSignUpForm(AccountFields, EnterpriseForm):
    pass


class InstitutionSignUpForm(AccountFields, InstitutionForm):
    pass


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[DataRequired(REQUIRED), Length(max=PASSWORD_MAX)])
    password = new_password_field(_l("新密码"))
    confirm = PasswordField(_l("确认新密码"), validators=[DataRequired(REQUIRED), EqualTo("password", message=MISMATCH)])

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.known_words = [user.email, user.display_name]


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("登录邮箱"), validators=[DataRequired(REQUIRED), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = new_password_field(_l("新密码"))
    confirm = PasswordField(_l("确认新密码"), validators=[DataRequired(REQUIRED), EqualTo("password", message=MISMATCH)])

    def __init__(self, known_words: list[str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.known_words = known_words


class AuditFilterForm(FlaskForm):
    """The audit log's filter: a GET form. Dates are Beijing days."""

    class Meta:
        csrf = False

    kind = SelectField(_l("事件"), validators=[Optional()], coerce=enum_member(AuditKind))
    email = StringField(_l("邮箱包含"), validators=[Optional(), Length(max=254)])
    since = DateField(_l("从"), validators=[Optional()])
    until = DateField(_l("到"), validators=[Optional()])
    page = BoundedIntegerField(validators=[Optional()], minimum=1, maximum=100_000)

    def __init__(self, formdata, for_sme: bool = False):
        super().__init__(formdata)
        self.for_sme = for_sme
        self.kind.choices = [("", _l("全部"))] + AuditKind.choices()

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("结束日期不能早于开始日期。"))

    def page_number(self) -> int:
        return self.page.data if not self.page.errors and self.page.data else 1

    def filters(self) -> AuditFilter:
        return AuditFilter(kind=self.kind.data, email=(self.email.data or "").strip() or None,
                           since=utc_of_shanghai(self.since.data) if self.since.data else None,
                           until=utc_of_shanghai(self.until.data + timedelta(days=1)) if self.until.data else None)
