"""Pages of 政策对接: the public policy library, an SME's "我的政策" and its facts form, and the
organisers' editor and per-event view. Thin: read the request, validate, call one service, commit."""
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from core.access import role_required
from core.extensions import db
from core.roles import Role
from core.views import commit_or_refuse
from market.services import chains as market_chains
from market.services import region_names
from policies import editing, ports, services
from policies.display import condition_outline
from policies.forms import RULE_EXAMPLE, NewPolicyForm, PolicyForm, facts_form
from policies.rules import CHAIN_CODES, PERIOD_TEXT
from policies.store import current_library, vocabulary

bp = Blueprint("policies", __name__, url_prefix="/policies")
ORGANISERS = (Role.ORGANISER, Role.ADMIN)


def _lang() -> str:
    return "en" if str(get_locale()) == "en" else "zh"


@bp.app_context_processor
def _policy_helpers():
    return {"period_text": PERIOD_TEXT}


@bp.app_template_global("policy_loan_subsidy")
def policy_loan_subsidy(product):
    """For `templates/policies/_loan_subsidy.html` on a product page: 第(二)条's effective rate, or None.
    The library is built once per request (a catalogue page shows many products)."""
    if "policy_library" not in g:
        g.policy_library = current_library().library
    return services.loan_subsidy_for_product(current_user, product, library=g.policy_library)


# ---- the library (public) -----------------------------------------------------------------------

@bp.get("/")
def library():
    stored = current_library()
    return render_template("policies/library.html", library=stored.library, rows=stored.rows,
                           problems=stored.problems, lang=_lang(), today=services.today())


@bp.get("/clause/<key>")
def detail(key: str):
    stored = current_library()
    row = stored.rows.get(key)
    if row is None:
        abort(404)
    try:
        policy = stored.library.policy(key)
    except KeyError:
        policy = None  # stored but no longer parses: organisers see the problem and fix it
    return render_template("policies/detail.html", policy=policy, row=row, problem=stored.problems.get(key),
                           can_edit=editing.can_edit(current_user, row) if current_user.is_authenticated else False,
                           library=stored.library, lang=_lang(),
                           outline=condition_outline(policy.conditions, stored.library) if policy else [],
                           region_names=region_names(row.regions, _lang()), chain_names=_chain_names())


# ---- 我的政策 (SMEs) --------------------------------------------------------------------------------

@bp.get("/mine")
@role_required(Role.SME)
def mine():
    view = services.my_policies(current_user)
    return render_template("policies/mine.html", view=view, lang=_lang())


@bp.route("/mine/facts", methods=["GET", "POST"])
@role_required(Role.SME)
def my_facts():
    view = services.my_policies(current_user)
    policy_key = request.args.get("policy") or None
    everything = request.args.get("all") == "1"
    if policy_key is not None and policy_key not in {p.id for p in view.library.policies}:
        abort(404)
    sections = view.missing_sections(policy_key)
    if everything:
        answered = view.answered_section()
        asked = {s.name for section in sections for s in section.specs}
        answered = type(answered)(tuple(s for s in answered.specs if s.name not in asked))
        sections = ([answered] if answered.specs else []) + sections
    specs = [spec for section in sections for spec in section.specs]
    form = facts_form(specs, _lang(), view.facts)
    if form.validate_on_submit():
        try:
            services.save_fact_answers(current_user, form.answers(), form.specs)
        except services.FactErrors as errors:
            db.session.rollback()
            form.attach(errors.errors)
        else:
            db.session.commit()
            flash(_("已保存，政策测算已更新。"), "success")
            return redirect(url_for("policies.mine"))
    return render_template("policies/facts_form.html", form=form, sections=sections, view=view, lang=_lang(),
                           policy_key=policy_key, everything=everything)


# ---- organisers: edit the library ---------------------------------------------------------------

def _chain_names() -> dict[str, str]:
    chains = market_chains(CHAIN_CODES)
    return {chain.code: chain.name(_lang()) for chain in chains}


def _policy_form(form_class: type[PolicyForm] = PolicyForm, **kwargs) -> PolicyForm:
    lang = _lang()
    names = _chain_names()
    sources = {sid: s.title.get(lang) for sid, s in vocabulary().sources.items()}
    return form_class(sources=sources, chains=[(code, names.get(code, code)) for code in CHAIN_CODES], **kwargs)


def _render_policy_form(form: PolicyForm, row):
    return render_template("policies/policy_form.html", form=form, row=row, rule_example=RULE_EXAMPLE,
                           fact_names=list(vocabulary().facts))


@bp.route("/new", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def new_policy():
    form = _policy_form(NewPolicyForm)
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: editing.create_policy(current_user, form.definition()),
                                success=lambda row: _("政策已添加：%(title)s", title=row.title(_lang())),
                                once=url_for("policies.library"),
                                next_url=lambda row: url_for("policies.detail", key=row.key))
        if done is not None:
            return done
    return _render_policy_form(form, None)


@bp.route("/clause/<key>/edit", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def edit_policy(key: str):
    row = editing.policy_row(key) or abort(404)
    if not editing.can_edit(current_user, row):
        abort(403)
    form = _policy_form()
    if request.method == "GET":
        form.fill_from(row.definition)
    form.key.data = row.key  # the key is the policy's identity: shown, never changed here
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: editing.update_policy(current_user, row, form.definition(row.definition)),
                                success=lambda changed: _("政策已保存。") if changed else _("没有改动。"),
                                next_url=url_for("policies.detail", key=row.key))
        if done is not None:
            return done
    return _render_policy_form(form, row)


# ---- organisers: 政策对接 for an event -------------------------------------------------------------

@bp.get("/events")
@role_required(*ORGANISERS)
def events():
    return render_template("policies/events.html", events=services.visible_events(current_user),
                           statuses=ports.event_status_labels())


@bp.get("/events/<int:event_id>")
@role_required(*ORGANISERS)
def event_matching(event_id: int):
    view = services.event_policies(current_user, event_id)
    return render_template("policies/event_matching.html", view=view, lang=_lang())
