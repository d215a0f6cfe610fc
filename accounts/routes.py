"""Sign-up, address verification, sign-in and sign-out, password change and reset, the account page and the audit log."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts import audit, services, sessions
from accounts.forms import (
    AuditFilterForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    InstitutionSignUpForm,
    ResetPasswordForm,
    SignInForm,
    SmeSignUpForm,
)
from accounts.redirects import safe_next
from core.access import role_required
from core.database import commit_keeping
from core.errors import FieldError
from core.extensions import db, limiter
from core.roles import Role
from core.views import commit_or_refuse

bp = Blueprint("auth", __name__, url_prefix="/account")


def landing_for(user) -> str:
    """Where a user lands after signing in."""
    return {
        "sme": url_for("market.my_enterprise"),
        "institution": url_for("market.my_institution"),
        "organiser": url_for("organiser.events"),
        "admin": url_for("organiser.events"),
    }.get(user.role, url_for("home.index"))


# ---- throttling: failed sign-ins per address tried and per client, sign-ups and reset requests ----------------

def _config(name: str):
    return lambda: current_app.config[name]


def _address_tried() -> str:
    return "address:" + (request.form.get("email") or "").strip().lower()[:254]


def _form_refused(response) -> bool:
    """A POST that came back as the form again (wrong password, invalid input) counts; a redirect does not."""
    return response.status_code == 200


def _record_throttled_sign_in(_limit) -> None:
    services.record_throttled_sign_in(request.form.get("email", ""))
    db.session.commit()


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_config("SIGN_IN_FAILURES_PER_ACCOUNT"), key_func=_address_tried, methods=["POST"],
               deduct_when=_form_refused, on_breach=_record_throttled_sign_in, scope="sign-in-address")
@limiter.limit(_config("SIGN_IN_FAILURES_PER_CLIENT"), methods=["POST"], deduct_when=_form_refused,
               on_breach=_record_throttled_sign_in, scope="sign-in-client")
def sign_in():
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            db.session.commit()  # the audit row of a failure is kept too
            form.password.errors = [_("邮箱或密码不正确。新注册的账号须先打开验证邮件中的链接。")]
        else:
            commit_keeping(db.session, user)  # signing in below needs no query once the sign-in is recorded
            sessions.start(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data, landing_for(user)))
    return render_template("auth/sign_in.html", form=form)


@bp.post("/sign-out")
@login_required
def sign_out():
    """Signing out ends every session of the user, including copies of the session cookie."""
    def sign_out_everywhere():
        services.end_all_sessions(current_user, current_user)
        services.record_sign_out(current_user)

    return commit_or_refuse(None, sign_out_everywhere, then=lambda _result: sessions.end(),
                            success=(_("您已退出登录。"), "info"), next_url=url_for("home.index"))


# ---- sign-up and verification -------------------------------------------------------------------------

@bp.route("/sign-up", methods=["GET"])
def sign_up_choice():
    return render_template("auth/sign_up_choice.html", next=request.args.get("next", ""))


def _sign_up(form, sign_up, template: str):
    if form.validate_on_submit():
        next_path = safe_next(form.next.data, "")
        # The same page whether the address was free or taken: its owner got a mail either way.
        done = commit_or_refuse(form, lambda: sign_up(form.email.data, form.display_name.data, form.password.data,
                                                      form.facts(), locale=str(get_locale()), next_path=next_path),
                                respond=lambda _user: render_template("auth/check_mail.html", email=form.email.data))
        if done is not None:
            return done
    return render_template(template, form=form)


@bp.route("/sign-up/enterprise", methods=["GET", "POST"])
@limiter.limit(_config("SIGN_UPS_PER_CLIENT"), methods=["POST"], scope="sign-up")
def sign_up_sme():
    return _sign_up(SmeSignUpForm(next=request.args.get("next", "")), services.sign_up_sme, "auth/sign_up_sme.html")


@bp.route("/sign-up/institution", methods=["GET", "POST"])
@limiter.limit(_config("SIGN_UPS_PER_CLIENT"), methods=["POST"], scope="sign-up")
def sign_up_institution():
    return _sign_up(InstitutionSignUpForm(next=request.args.get("next", "")), services.sign_up_institution,
                    "auth/sign_up_institution.html")


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify_email(token: str):
    """GET shows a button, POST verifies: a mail scanner that fetches the link verifies nothing."""
    if request.method == "GET":
        return render_template("auth/verify_email.html", token=token, next=request.args.get("next", ""))
    try:
        user, verified_now = services.verify_email(token)
    except FieldError as error:
        db.session.rollback()
        return render_template("errors/error.html", code=400, message=error.message), 400
    if not verified_now or not services.may_hold_session(user):  # only the first click signs in
        db.session.commit()
        flash(_("邮箱已验证，请登录。"), "info")
        return redirect(url_for("auth.sign_in"))
    services.authenticate_verified(user)
    commit_keeping(db.session, user)  # verified and signed in in one transaction; nothing queried after it
    sessions.start(user)
    flash(_("邮箱已验证，注册完成。欢迎加入“一月一链 · 益企畅融”。"), "success")
    return redirect(safe_next(request.form.get("next"), landing_for(user)))


# ---- passwords -----------------------------------------------------------------------------------------

@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm(current_user)
    if form.validate_on_submit():
        user = current_user._get_current_object()
        done = commit_or_refuse(form, lambda: services.change_password(user, form.current_password.data,
                                                                       form.password.data),
                                keep=(user,), then=lambda _result: sessions.restart(user),
                                success=_("密码已修改，其他设备上的登录已全部退出。"), next_url=url_for("auth.account"))
        if done is not None:
            return done
    return render_template("auth/change_password.html", form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_config("PASSWORD_RESETS_PER_ADDRESS"), key_func=_address_tried, methods=["POST"],
               scope="reset-address")
@limiter.limit(_config("PASSWORD_RESETS_PER_CLIENT"), methods=["POST"], scope="reset-client")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        return commit_or_refuse(form, lambda: services.request_password_reset(form.email.data),
                                success=(_("如果该邮箱已注册，重置密码的链接已发送到该邮箱，1 小时内有效。"), "info"),
                                next_url=url_for("auth.sign_in"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = services.user_of_reset_token(token)
    if user is None:
        return render_template("auth/reset_invalid.html"), 400
    form = ResetPasswordForm([user.email, user.display_name])
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except FieldError:
            db.session.rollback()
            return render_template("auth/reset_invalid.html"), 400
        db.session.commit()
        sessions.end()
        flash(_("密码已重置，请用新密码登录。"), "success")
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset_password.html", form=form, token=token)


# ---- the account page and the audit log --------------------------------------------------------------------

@bp.get("/")
@login_required
def account():
    recent = audit.own_account_events(current_user, limit=10)
    return render_template("auth/account.html", recent=recent, can_read_log=audit.can_read_log(current_user))


@bp.get("/audit")
@role_required(Role.ADMIN, Role.ORGANISER, Role.SME)
def audit_log():
    form = AuditFilterForm(request.args, for_sme=current_user.role == Role.SME)
    filters = form.filters() if form.validate() else audit.AuditFilter()
    page = form.page_number()
    events, has_next = audit.events_for(current_user, filters, page)
    return render_template("auth/audit_log.html", form=form, events=events, page=page, has_next=has_next,
                           names=audit.names_for(events))
