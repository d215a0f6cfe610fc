"""Sign-in and sign-up forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from market.forms import REQUIRED, EnterpriseForm, InstitutionForm

PASSWORD_MIN = 10


class SignInForm(FlaskForm):
    # No Email() here: signing in only looks the address up, and email_validator refuses special-use
    # domains such as the demo accounts' "@demo.local", which then could not sign in at all.
    email = EmailField(_l("邮箱"), validators=[DataRequired(REQUIRED), Length(max=254)])
    password = PasswordField(_l("密码"), validators=[DataRequired(REQUIRED)])
    remember = BooleanField(_l("记住我"))
    next = HiddenField()


class AccountFields:
    """Mixed into both sign-up forms: who signs in."""

    email = EmailField(_l("登录邮箱"), validators=[DataRequired(REQUIRED), Email(message=_l("邮箱格式不正确。")),
                                                 Length(max=254)])
    display_name = StringField(_l("您的姓名"), validators=[DataRequired(REQUIRED), Length(max=60)])
    password = PasswordField(_l("密码"), validators=[
        DataRequired(REQUIRED), Length(min=PASSWORD_MIN, max=200, message=_l("密码至少 10 位。"))])
    confirm = PasswordField(_l("确认密码"), validators=[
        DataRequired(REQUIRED), EqualTo("password", message=_l("两次输入的密码不一致。"))])
    next = HiddenField()

    def validate_email(self, field):
        from chainmatch.accounts.services import email_taken
        field.data = (field.data or "").strip().lower()
        if email_taken(field.data):
            raise ValidationError(_l("该邮箱已注册，请直接登录。"))


class SmeSignUpForm(AccountFields, EnterpriseForm):
    pass


class InstitutionSignUpForm(AccountFields, InstitutionForm):
    pass
