"""The home page and the language switch."""

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import func, select

from core.extensions import db
from market.enums import ProductStatus
from market.models import Chain, Enterprise, FinancingNeed, Institution, Product
from accounts.redirects import safe_next

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    chains = db.session.scalars(select(Chain).order_by(Chain.sort_order, Chain.id)).all()
    counts = {
        "enterprises": db.session.scalar(select(func.count(Enterprise.id))),
        "needs": db.session.scalar(select(func.count(FinancingNeed.id))),
        "institutions": db.session.scalar(select(func.count(Institution.id))),
        "products": db.session.scalar(select(func.count(Product.id)).where(Product.status == ProductStatus.ACTIVE)),
    }
    exclusive = db.session.scalars(
        select(Product).where(Product.is_exclusive.is_(True), Product.status == ProductStatus.ACTIVE)
        .order_by(Product.id).limit(6)).all()
    return render_template("home/index.html", chains=chains, counts=counts, exclusive=exclusive)


@bp.post("/language/<code>")
def switch_language(code: str):
    if code in ("zh", "en"):
        session["locale"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("home.index")))
