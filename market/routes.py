"""Pages of the market: an SME's enterprise and needs, an institution's products, the catalogue."""
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from core.access import role_required
from core.roles import Role
from core.views import commit_or_refuse
from market import services
from market.forms import (
    CatalogueFilterForm,
    EnterpriseForm,
    InstitutionForm,
    NeedForm,
    NewNeedForm,
    NewProductForm,
    ProductForm,
    WithdrawForm,
)

bp = Blueprint("market", __name__)


# ---- the SME's own enterprise and needs --------------------------------------------------------

@bp.get("/enterprise")
@role_required(Role.SME)
def my_enterprise():
    enterprise = services.enterprise_of(current_user)
    return render_template("market/my_enterprise.html", enterprise=enterprise, withdraw_form=WithdrawForm())


@bp.route("/enterprise/edit", methods=["GET", "POST"])
@role_required(Role.SME)
def edit_enterprise():
    enterprise = services.enterprise_of(current_user)
    form = EnterpriseForm.from_enterprise(enterprise)
    form.credit_code.data = enterprise.credit_code  # identity: shown, never changed here
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: services.update_enterprise(current_user, enterprise, form.facts()),
                                success=_("企业资料已保存。"), next_url=url_for("market.my_enterprise"))
        if done is not None:
            return done
    return render_template("market/enterprise_form.html", form=form, enterprise=enterprise)


@bp.route("/needs/new", methods=["GET", "POST"])
@role_required(Role.SME)
def new_need():
    form = NewNeedForm()
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: services.create_need(current_user, form.facts()),
                                success=_("融资需求已发布。"), next_url=url_for("market.my_enterprise"),
                                once=url_for("market.my_enterprise"))
        if done is not None:
            return done
    return render_template("market/need_form.html", form=form, need=None)


@bp.route("/needs/<int:need_id>/edit", methods=["GET", "POST"])
@role_required(Role.SME)
def edit_need(need_id: int):
    need = services.own_need(current_user, need_id)
    form = NeedForm.from_need(need)
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: services.update_need(current_user, need, form.facts()),
                                success=_("融资需求已更新。"), next_url=url_for("market.my_enterprise"))
        if done is not None:
            return done
    return render_template("market/need_form.html", form=form, need=need)


@bp.post("/needs/<int:need_id>/withdraw")
@role_required(Role.SME)
def withdraw_need(need_id: int):
    need = services.own_need(current_user, need_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    return commit_or_refuse(None, lambda: services.withdraw_need(current_user, need, form.reason.data or ""),
                            success=_("需求已撤回。"), next_url=url_for("market.my_enterprise"))


# ---- the institution's own profile and products ----------------------------------------------

@bp.get("/institution")
@role_required(Role.INSTITUTION)
def my_institution():
    institution = services.institution_for(current_user)
    return render_template("market/my_institution.html", institution=institution,
                           region_names=services.region_names(institution.region_codes, str(get_locale())))


@bp.route("/institution/edit", methods=["GET", "POST"])
@role_required(Role.INSTITUTION)
def edit_institution():
    institution = services.institution_for(current_user)
    form = InstitutionForm(obj=institution)
    if not form.is_submitted():
        form.region_codes.data = list(institution.region_codes)
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: services.update_institution(current_user, institution, form.facts()),
                                success=_("机构资料已保存。"), next_url=url_for("market.my_institution"))
        if done is not None:
            return done
    return render_template("market/institution_form.html", form=form, institution=institution)


@bp.route("/products/new", methods=["GET", "POST"])
@role_required(Role.INSTITUTION)
def new_product():
    form = NewProductForm()
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: services.create_product(current_user, form.facts()),
                                success=_("产品已发布。"), next_url=url_for("market.my_institution"),
                                once=url_for("market.my_institution"))
        if done is not None:
            return done
    return render_template("market/product_form.html", form=form, product=None)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@role_required(Role.INSTITUTION)
def edit_product(product_id: int):
    product = services.own_product(current_user, product_id)
    form = ProductForm.from_product(product)
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: services.update_product(current_user, product, form.facts()),
                                success=_("产品已更新。"), next_url=url_for("market.my_institution"))
        if done is not None:
            return done
    return render_template("market/product_form.html", form=form, product=product)


@bp.post("/products/<int:product_id>/retire")
@role_required(Role.INSTITUTION)
def retire_product(product_id: int):
    product = services.own_product(current_user, product_id)
    return commit_or_refuse(None, lambda: services.retire_product(current_user, product),
                            success=_("产品已下架。"), next_url=url_for("market.my_institution"))


@bp.post("/products/<int:product_id>/reactivate")
@role_required(Role.INSTITUTION)
def reactivate_product(product_id: int):
    product = services.own_product(current_user, product_id)
    return commit_or_refuse(None, lambda: services.reactivate_product(current_user, product),
                            success=_("产品已重新上架。"), next_url=url_for("market.my_institution"))


# ---- the public catalogue (金融超市) -------------------------------------------------------------

@bp.get("/catalogue")
def catalogue():
    form = CatalogueFilterForm(request.args)
    products = services.catalogue(form.filters()) if form.validate() else []
    return render_template("market/catalogue.html", form=form, products=products)


@bp.get("/catalogue/<int:product_id>")
def product_detail(product_id: int):
    product = services.product_by_id(product_id)
    visible = product is not None and product.institution.is_approved
    own = product is not None and current_user.is_authenticated and current_user.institution_id == product.institution_id
    if not (visible or own):
        abort(404)
    return render_template("market/product_detail.html", product=product,
                           region_names=services.region_names(product.region_codes, str(get_locale())))


# ---- organisers review self-registered institutions ------------------------------------------

@bp.get("/institutions/review")
@role_required(Role.ORGANISER, Role.ADMIN)
def review_institutions():
    institutions = services.institutions_for_review(current_user)
    codes = [code for institution in institutions for code in institution.region_codes]
    return render_template("market/review_institutions.html", institutions=institutions,
                           region_names=services.region_names(codes, str(get_locale())))


@bp.post("/institutions/<int:institution_id>/review")
@role_required(Role.ORGANISER, Role.ADMIN)
def review_institution(institution_id: int):
    institution = services.institution_by_id(institution_id) or abort(404)
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    # The column holds 500 characters (PostgreSQL refuses more); the page's input has maxlength=500.
    note = request.form.get("note", "").strip()[:500]
    return commit_or_refuse(None, lambda: services.review_institution(current_user, institution,
                                                                       decision == "approve", note),
                            success=lambda reviewed: _("已审核：%(name)s", name=reviewed.name),
                            next_url=url_for("market.review_institutions"))
