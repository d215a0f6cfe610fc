"""Pages of the online half: the month's hall, institutions' service zones, livestreams and talks, the lead report.

The "预约对接" actions (`zone_request`, `stream_request`) decide where the visitor goes: a signed-in SME straight to
the meeting request with the matching need (and the product) pre-selected and the lead source kept; a visitor to
the SME sign-up, whose `next` brings them back to the action, which then sends them on.
"""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from core.access import role_required
from core.clock import utcnow
from core.extensions import db
from core.roles import Role
from events.enums import EventStatus, LeadSource, SessionKind
from events.forms.online import HallFilterForm, LeadFilterForm
from events.services import online, online_hall, online_leads, participants, registration
from market.enums import FinancingType, InstitutionStatus
from market.services import region_names

bp = Blueprint("online", __name__)


def _locale() -> str:
    return str(get_locale() or "zh")


def _is_sme() -> bool:
    return current_user.is_authenticated and current_user.role == Role.SME


# ---- the month's hall --------------------------------------------------------------------------------

@bp.get("/hall")
def current_hall():
    event = online.current_event()
    if event is None:
        return render_template("events/online/hall_empty.html")
    filters = {key: request.args[key] for key in ("type", "region") if request.args.get(key)}
    return redirect(url_for("online.hall", event_id=event.id, **filters))


@bp.get("/hall/<int:event_id>")
def hall(event_id: int):
    event = online.public_event(event_id)
    form = HallFilterForm(request.args)
    valid = form.validate()
    the_hall = online_hall.hall(event, form.financing_type if valid else None, form.region_code if valid else None)
    codes = {code for card in the_hall.zones for code in card.institution.region_codes}
    return render_template("events/online/hall.html", hall=the_hall, form=form, now=utcnow(),
                           others=[e for e in online.current_events() if e.id != event.id],
                           region_names=region_names(codes, _locale()),
                           policy_pages="policies.detail" in current_app.view_functions)


# ---- an institution's service zone --------------------------------------------------------------------

@bp.get("/zones/<int:institution_id>")
def zone(institution_id: int):
    institution = online.public_institution(institution_id)
    event = online.zone_event(institution, request.args.get("event", type=int))
    online.record_zone_view(current_user, institution)
    db.session.commit()
    the_zone = online.zone(institution, event)
    return render_template("events/online/zone.html", zone=the_zone, now=utcnow(),
                           region_names=region_names(institution.region_codes, _locale()),
                           is_owner=current_user.is_authenticated and current_user.institution_id == institution.id)


def _request_or_sign_up(institution, product, lead_source: str, event, lead_session_id: int | None, back: str):
    """Where "预约对接" leads: sign-up for a visitor, the pre-filled meeting request for an SME."""
    if not current_user.is_authenticated:
        flash(_("请先注册企业账号，完成后将自动回到约见页面。"), "info")
        return redirect(url_for("auth.sign_up_sme", next=request.full_path.rstrip("?")))
    if current_user.role != Role.SME:
        flash(_("只有企业用户可以发起约见。"), "info")
        return redirect(back)
    if product is not None:
        need = online.matching_need(current_user.enterprise_id, product)
    else:
        need = online.need_for_zone(current_user.enterprise_id, online.zone_products(institution))
    target = {"institution": institution.id, "lead_source": lead_source}
    if event is not None:
        target["event"] = event.id
    if lead_session_id is not None:
        target["lead_session"] = lead_session_id
    if product is not None:
        target["product"] = product.id
    if need is not None:
        target["need"] = need.id
    return redirect(url_for("events.new_request", **target))


@bp.get("/zones/<int:institution_id>/request")
def zone_request(institution_id: int):
    institution = online.public_institution(institution_id)
    product = online.zone_product(institution, request.args.get("product", type=int))
    event = online.event_for_requests(online.zone_event(institution, request.args.get("event", type=int)))
    return _request_or_sign_up(institution, product, LeadSource.ZONE, event, None,
                               url_for("online.zone", institution_id=institution.id))


# ---- livestreams and talks -----------------------------------------------------------------------------

@bp.get("/streams/<int:session_id>")
def stream(session_id: int):
    session = online.public_stream(session_id)
    online.record_stream_view(current_user, session)
    db.session.commit()
    state = online.stream_state(session)
    mine = None
    if _is_sme():
        mine = participants.registration_of(session.id, enterprise_id=current_user.enterprise_id)
    return render_template("events/online/stream.html", session=session, state=state,
                           play=request.args.get("play") == "1" and state.embed,
                           viewers=online.viewer_counts([session.id])[session.id], mine=mine,
                           can_register=registration.registration_is_open(session),
                           products=online.zone_products(session.host_institution) if session.host_institution else [])


@bp.get("/streams/<int:session_id>/watch")
def watch(session_id: int):
    """Counts the click, then plays the embedded player on our page or goes to the provider's page."""
    session = online.public_stream(session_id)
    state = online.stream_state(session)
    if not state.watch_url:
        abort(404)
    online.record_stream_click(current_user, session)
    db.session.commit()
    if state.embed:
        return redirect(url_for("online.stream", session_id=session.id, play=1, _anchor="player"))
    return redirect(state.watch_url)


@bp.get("/streams/<int:session_id>/request")
def stream_request(session_id: int):
    session = online.public_stream(session_id)
    if session.host_institution is None or session.host_institution.status != InstitutionStatus.APPROVED:
        abort(404)
    product = online.zone_product(session.host_institution, request.args.get("product", type=int))
    return _request_or_sign_up(session.host_institution, product, LeadSource.STREAM,
                               online.event_for_requests(session.event), session.id,
                               url_for("online.stream", session_id=session.id))


# ---- the lead report -----------------------------------------------------------------------------------

@bp.get("/leads")
@role_required(Role.INSTITUTION, Role.ORGANISER, Role.ADMIN)
def leads():
    if current_user.role == Role.INSTITUTION:
        choices = online.events_of_institution(current_user.institution_id)
    else:
        choices = online_leads.visible_public_events(current_user)
    form = LeadFilterForm(choices, current_user.role == Role.INSTITUTION, request.args)
    event_id = form.event_id if form.validate() else None
    report = online_leads.lead_report(current_user, event_id)
    if report.event is not None and not form.event.data:
        form.event.data = str(report.event.id)
    return render_template("events/online/leads.html", report=report, form=form)


@bp.context_processor
def _vocabularies() -> dict:
    return {"SessionKind": SessionKind, "FinancingType": FinancingType, "EventStatus": EventStatus}
