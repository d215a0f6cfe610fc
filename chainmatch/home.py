"""The home page and the language switch."""

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user

from accounts.redirects import safe_next
from core.extensions import db
from market import services as market

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    chains = market.chains()
    counts = market.market_figures()
    exclusive = market.exclusive_products(6)
    return render_template("home/index.html", chains=chains, counts=counts, exclusive=exclusive)


@bp.post("/language/<code>")
def switch_language(code: str):
    if code in ("zh", "en"):
        session["locale"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("home.index")))
