"""Sign-up, sign-in and sign-out pages."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from chainmatch.accounts import services
from chainmatch.accounts.forms import InstitutionSignUpForm, SignInForm, SmeSignUpForm
from chainmatch.extensions import db
from chainmatch.home import safe_next
from market.forms import attach_field_error
from market.services import FieldError

bp = Blueprint("auth", __name__, url_prefix="/account")


def landing_for(user) -> str:
    """Where a user lands after signing in."""
    return {
        "sme": url_for("market.my_enterprise"),
        "institution": url_for("market.my_institution"),
        "organiser": url_for("organiser.events"),
        "admin": url_for("organiser.events"),
    }.get(user.role, url_for("home.index"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors = [_("邮箱或密码不正确。")]
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data, landing_for(user)))
    return render_template("auth/sign_in.html", form=form)


@bp.post("/sign-out")
@login_required
def sign_out():
    """Signing out ends every session of the user, including copies of the session cookie."""
    services.end_all_sessions(current_user, current_user)
    db.session.commit()
    logout_user()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("home.index"))


@bp.route("/sign-up", methods=["GET"])
def sign_up_choice():
    return render_template("auth/sign_up_choice.html", next=request.args.get("next", ""))


@bp.route("/sign-up/enterprise", methods=["GET", "POST"])
def sign_up_sme():
    form = SmeSignUpForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = services.sign_up_sme(form.email.data, form.display_name.data, form.password.data,
                                        form.facts(), locale=str(get_locale()))
        except FieldError as error:
            db.session.rollback()
            attach_field_error(form, error)
        else:
            db.session.commit()
            login_user(user)
            flash(_("注册成功，欢迎加入“一月一链 · 益企畅融”。"), "success")
            return redirect(safe_next(form.next.data, landing_for(user)))
    return render_template("auth/sign_up_sme.html", form=form)


@bp.route("/sign-up/institution", methods=["GET", "POST"])
def sign_up_institution():
    form = InstitutionSignUpForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = services.sign_up_institution(form.email.data, form.display_name.data, form.password.data,
                                                form.facts(), locale=str(get_locale()))
        except FieldError as error:
            db.session.rollback()
            attach_field_error(form, error)
        else:
            db.session.commit()
            login_user(user)
            flash(_("注册成功。机构资料经主办单位审核通过后，产品将在金融超市展示。"), "success")
            return redirect(landing_for(user))
    return render_template("auth/sign_up_institution.html", form=form)
