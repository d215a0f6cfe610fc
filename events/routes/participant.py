"""Pages of SMEs and institutions: the month's event, registration, requests, agenda, outcomes, consent."""
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from core.access import role_required
from core.clock import utcnow
from core.extensions import db, limiter
from core.roles import Role
from core.views import commit_or_refuse
from events.enums import (
    EventStatus,
    LeadSource,
    MeetingSource,
    MeetingStatus,
    RegistrationStatus,
    RequestStatus,
    SessionKind,
    SessionMode,
    Side,
    Verdict,
)
from events.forms.participant import (
    AnswerForm,
    BookingForm,
    ConfirmForm,
    EnterpriseRegistrationForm,
    InstitutionRegistrationForm,
    MeetingRequestForm,
    OutcomeForm,
    ReasonForm,
)
from events.models import Event, EventSession, MeetingRequest, Registration
from events.services import agenda, consent, online, outcomes, participants, registration, requests, scope, venue_tables
from events.workdays import calendar_note
from market import services as market
from market.enums import FinancingType, NeedStatus, ProductStatus
from market.models import FinancingNeed

bp = Blueprint("events", __name__, url_prefix="/events")
PARTIES = (Role.SME, Role.INSTITUTION)


def _locale() -> str:
    return str(get_locale() or "zh")


def _public_event(event_id: int) -> Event:
    return online.public_event(event_id)


def _public_session(session_id: int) -> EventSession:
    return registration.public_session(session_id) or abort(404)


# ---- the month's event ------------------------------------------------------------------------

@bp.get("/")
def index():
    events = registration.public_events(limit=50)
    return render_template("events/participant/index.html", events=events)


@bp.get("/<int:event_id>")
def event_detail(event_id: int):
    event = _public_event(event_id)
    mine = {}
    if current_user.is_authenticated and current_user.role in PARTIES:
        mine = {r.session_id: r for r in registration.my_registrations(current_user)}
    approved = {s.id: registration.approved_enterprise_count(s.id) for s in event.sessions}
    return render_template("events/participant/event.html", event=event, mine=mine, approved=approved,
                           is_open={s.id: registration.registration_is_open(s) for s in event.sessions},
                           published={s.id: agenda.session_is_published(s) for s in event.sessions})


@bp.route("/sessions/<int:session_id>/register", methods=["GET", "POST"])
@role_required(*PARTIES)
def register(session_id: int):
    session = _public_session(session_id)
    party = {"enterprise_id": current_user.enterprise_id} if current_user.role == Role.SME else \
        {"institution_id": current_user.institution_id}
    existing = participants.registration_of(session.id, **party)
    if request.method == "GET" and existing is not None and existing.status != RegistrationStatus.CANCELLED:
        flash(_("您已报名本场（%(status)s）。", status=existing.status.label), "info")
        return redirect(url_for("events.my_registrations"))
    if current_user.role == Role.SME:
        return _register_enterprise(session)
    return _register_institution(session)


def _register_enterprise(session: EventSession):
    form = EnterpriseRegistrationForm()
    enterprise = market.enterprise_of(current_user)
    needs = [n for n in enterprise.needs if n.status != NeedStatus.WITHDRAWN]
    form.needs.choices = [(n.id, n.id) for n in needs]
    consent_text = consent.registration_consent_text()
    if form.validate_on_submit():
        left_out = []

        def sign_up():
            signed_up = registration.register_enterprise(current_user, session, form.needs.data or [], consent_text,
                                                         consented=form.consent.data)
            left_out.extend(n for n in needs if n.id in (form.needs.data or []) and n not in signed_up.needs)
            return signed_up

        def said(signed_up):
            _flash_registered(signed_up)
            if left_out:
                flash(_("以下需求不在本场服务范围，未带入：%(list)s。",
                        list=_("、").join(n.type.label for n in left_out)), "info")

        done = commit_or_refuse(form, sign_up, then=said, once=url_for("events.my_registrations"),
                                next_url=url_for("events.my_registrations"))
        if done is not None:
            return done
    return render_template("events/participant/register_enterprise.html", session=session, form=form,
                           needs=needs, consent_text=consent_text, is_open=registration.registration_is_open(session))


def _register_institution(session: EventSession):
    form = InstitutionRegistrationForm()
    products = [p for p in market.institution_for(current_user).products if p.status == ProductStatus.ACTIVE]
    form.products.choices = [(p.id, f"{p.name}（{p.type.label}）") for p in products]
    form.unavailable_slots.choices = [(slot, agenda.slot_label(session, slot)) for slot in range(session.slot_count)]
    if form.validate_on_submit():
        done = commit_or_refuse(
            form, lambda: registration.register_institution(current_user, session, form.products.data or [],
                                                            form.tables.data, form.staff_members(),
                                                            form.unavailable_slots.data or []),
            then=_flash_registered, once=url_for("events.my_registrations"),
            next_url=url_for("events.my_registrations"))
        if done is not None:
            return done
    return render_template("events/participant/register_institution.html", session=session, form=form,
                           products=products, is_open=registration.registration_is_open(session),
                           has_meetings=session.kind.has_meetings)


def _flash_registered(signed_up: Registration) -> None:
    if signed_up.status == RegistrationStatus.WAITLISTED:
        flash(registration.waitlist_explanation(signed_up), "info")
    elif signed_up.status == RegistrationStatus.APPROVED:
        flash(_("您已报名本场，报名已通过。"), "success")
    else:
        flash(_("报名已提交，等待主办方审核。"), "success")


@bp.get("/registrations")
@role_required(*PARTIES)
def my_registrations():
    return render_template("events/participant/registrations.html",
                           registrations=registration.my_registrations(current_user), form=ReasonForm(),
                           venue_labels=venue_tables.labels_of_institution(current_user.institution_id))


@bp.post("/registrations/<int:registration_id>/cancel")
@role_required(*PARTIES)
def cancel_registration(registration_id: int):
    signed_up = registration.own_registration(current_user, registration_id) or abort(404)
    form = ReasonForm()
    form.validate_on_submit()
    return commit_or_refuse(None, lambda: registration.cancel_registration(current_user, signed_up,
                                                                           form.reason.data or ""),
                            success=_("报名已取消。"), next_url=url_for("events.my_registrations"))


# ---- meeting requests -------------------------------------------------------------------------

@bp.get("/requests", endpoint="requests")
@role_required(*PARTIES)
def requests_page():
    inbox, outbox = requests.requests_of(current_user)
    consent.log_details_shown(current_user, [r.enterprise for r in inbox + outbox], request.path)
    db.session.commit()
    notes = {r.id: calendar_note(r.respond_by.year) for r in inbox + outbox}
    arranged = requests.request_meetings(inbox + outbox)
    return render_template("events/participant/requests.html", inbox=inbox, outbox=outbox, notes=notes,
                           arranged=arranged, arranged_where={r: agenda.meeting_location(m) for r, m in arranged.items()},
                           answer_form=AnswerForm(), confirm_form=ConfirmForm(),
                           consent_texts={r.id: consent.request_consent_text(r.institution.name) for r in inbox},
                           counterpart=_request_counterparts(inbox + outbox))


def _request_counterparts(rows: list[MeetingRequest]) -> dict[int, str]:
    if current_user.enterprise_id is not None:
        return {r.id: r.institution.name for r in rows}
    names = consent.enterprise_names(current_user.institution_id, [r.enterprise for r in rows])
    return {r.id: names[r.enterprise_id] for r in rows}


def _requester() -> str:
    """Meeting requests are counted per signed-in user (per address for anyone else, who is sent to sign in)."""
    return f"user:{current_user.id}" if current_user.is_authenticated else f"address:{request.remote_addr}"


@bp.route("/requests/new", methods=["GET", "POST"])
@role_required(*PARTIES)
@limiter.limit(lambda: current_app.config["MEETING_REQUESTS_PER_USER"], key_func=_requester, methods=["POST"],
               scope="meeting-requests")
def new_request():
    event = _public_event(request.args.get("event", type=int)) if request.args.get("event") else None
    form = MeetingRequestForm()
    if current_user.role == Role.SME:
        target = market.institution_by_id(request.args.get("institution", type=int) or 0)
        if target is None or not target.is_approved:
            abort(404)
        needs = [n for n in market.enterprise_of(current_user).needs if n.status != NeedStatus.WITHDRAWN]
        products = [p for p in target.products if p.status == ProductStatus.ACTIVE]
        consent_text, target_name = consent.request_consent_text(target.name), target.name
    else:
        target = market.enterprise_by_id(request.args.get("enterprise", type=int) or 0)
        if target is None or not consent.enterprise_visible_to(current_user.institution_id, target.id):
            abort(404)
        needs = [n for n in target.needs if n.status != NeedStatus.WITHDRAWN]
        products = [p for p in market.institution_for(current_user).products if p.status == ProductStatus.ACTIVE]
        consent_text = ""
        target_name = target.name if consent.log_details_shown(current_user, [target], request.path) else \
            _("企业 #%(ref)05d", ref=target.id)
        db.session.commit()  # the view is logged whatever becomes of the form
    form.need_id.choices = [(0, _("不指定"))] + [(n.id, _need_label(n)) for n in needs]
    form.product_id.choices = [(0, _("不指定"))] + [(p.id, p.name) for p in products]
    if request.method == "GET":
        form.lead_source.data = request.args.get("lead_source", "direct")
        form.lead_session_id.data = request.args.get("lead_session", type=int)
        form.need_id.data = request.args.get("need", 0, type=int)  # pre-selected by a zone or a stream
        form.product_id.data = request.args.get("product", 0, type=int)
    if form.validate_on_submit():
        def send():
            return requests.request_meeting(current_user, event, target, form.need_id.data or None,
                                            form.product_id.data or None, form.message.data or "",
                                            form.lead_source.data or "direct", form.lead_session_id.data,
                                            consent_text=consent_text, consented=form.consent.data)

        done = commit_or_refuse(form, send, success=_("约见请求已发送。"), once=url_for("events.requests"),
                                next_url=url_for("events.requests"))
        if done is not None:
            return done
    return render_template("events/participant/request_form.html", form=form, target_name=target_name,
                           consent_text=consent_text, event=event)


def _need_label(need: FinancingNeed) -> str:
    """The SME sees its own amount; an institution sees the amount band only."""
    if current_user.role == Role.SME:
        return _("%(type)s · %(amount)s 万元", type=need.type.label,
                 amount=f"{need.amount_yuan / 10_000:g}")
    return f"{need.type.label} · {consent.amount_band(need.amount_yuan)}"


def _answer(request_id: int, verb: str):
    meeting_request = requests.own_request(current_user, request_id)
    form = AnswerForm()
    form.validate_on_submit()

    def answer() -> str:
        """The answer given; what the page then says."""
        if verb == "accept":
            text = consent.request_consent_text(meeting_request.institution.name) if current_user.role == Role.SME else ""
            meeting = requests.accept_request(current_user, meeting_request, form.note.data or "", consent_text=text,
                                              consented=form.consent.data)
            if meeting is not None:
                return _("已接受，会谈已排入日程：%(when)s。", when=requests.meeting_when(meeting)[
                    1 if _locale() == "en" else 0])
            if meeting_request.event_id is not None:
                return _("已接受，待主办方安排时段：暂无双方都空闲的时段，主办方排期时会优先安排。")
            return _("已接受。该约见不属于对接活动，请与对方联系商定时间和方式。")
        if verb == "decline":
            requests.decline_request(current_user, meeting_request, form.note.data or "")
            return _("已婉拒该请求。")
        requests.withdraw_request(current_user, meeting_request)
        return _("约见请求已撤回。")

    return commit_or_refuse(None, answer, success=lambda said: said, next_url=url_for("events.requests"))


@bp.post("/requests/<int:request_id>/accept")
@role_required(*PARTIES)
def accept_request(request_id: int):
    return _answer(request_id, "accept")


@bp.post("/requests/<int:request_id>/decline")
@role_required(*PARTIES)
def decline_request(request_id: int):
    return _answer(request_id, "decline")


@bp.post("/requests/<int:request_id>/withdraw")
@role_required(*PARTIES)
def withdraw_request(request_id: int):
    return _answer(request_id, "withdraw")


# ---- agenda, calendar file, cancelling, check-in, outcomes, booking ------------------------------------

@bp.get("/agenda", endpoint="agenda")
@role_required(*PARTIES)
def agenda_page():
    meetings = agenda.agenda_for(current_user)
    event_id = request.args.get("event_id", type=int)
    pending = requests.pending_requests_of(current_user)
    if event_id:
        meetings = [m for m in meetings if m.session.event_id == event_id]
        pending = [r for r in pending if r.event_id == event_id]
    consent.log_details_shown(current_user, [m.enterprise for m in meetings] + [r.enterprise for r in pending],
                              request.path)
    db.session.commit()
    return render_template("events/participant/agenda.html", meetings=meetings, reason_form=ReasonForm(),
                           pending=pending, pending_names=_request_counterparts(pending),
                           confirm_form=ConfirmForm(), names=agenda.counterpart_names(current_user, meetings),
                           locations={m.id: agenda.meeting_location(m) for m in meetings}, now=utcnow())



@bp.get("/agenda.ics")
@role_required(*PARTIES)
def agenda_ics():
    meetings = agenda.agenda_for(current_user)
    body = agenda.agenda_ics(current_user, meetings)
    consent.log_details_shown(current_user, [m.enterprise for m in meetings], request.path)
    db.session.commit()
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": "attachment; filename=chainmatch-agenda.ics", "Cache-Control": "no-store"})


@bp.post("/meetings/<int:meeting_id>/cancel")
@role_required(*PARTIES)
def cancel_meeting(meeting_id: int):
    meeting = agenda.own_meeting(current_user, meeting_id)
    form = ReasonForm()
    form.validate_on_submit()
    return commit_or_refuse(None, lambda: agenda.cancel_meeting(current_user, meeting, form.reason.data or ""),
                            success=_("会谈已取消，已通知对方。"), next_url=url_for("events.agenda"))


@bp.post("/meetings/<int:meeting_id>/check-in")
@role_required(Role.INSTITUTION, Role.ORGANISER, Role.ADMIN)
def check_in(meeting_id: int):
    meeting = agenda.own_meeting(current_user, meeting_id) if current_user.role == Role.INSTITUTION else \
        _organiser_meeting(meeting_id)
    return commit_or_refuse(None, lambda: agenda.check_in(current_user, meeting),
                            success=_("已签到，会谈标记为已会谈。"),
                            next_url=request.referrer if _same_site(request.referrer) else url_for("events.agenda"))


def _organiser_meeting(meeting_id: int):
    return scope.meeting_for(current_user, meeting_id)


def _same_site(target: str | None) -> bool:
    return bool(target) and urlsplit(target).netloc == request.host


@bp.route("/meetings/<int:meeting_id>/outcome", methods=["GET", "POST"])
@role_required(*PARTIES)
def record_outcome(meeting_id: int):
    meeting = agenda.own_meeting(current_user, meeting_id)
    side = outcomes.side_of(current_user, meeting)
    financing_type = outcomes.meeting_financing_type(meeting)
    terms = outcomes.terms_of(financing_type)
    institution_outcome = outcomes.outcome_of(meeting, Side.INSTITUTION)
    enterprise_outcome = outcomes.outcome_of(meeting, Side.ENTERPRISE) if side == Side.INSTITUTION else None
    form = OutcomeForm()
    form.adapt(terms, side.value, meeting.need is not None, institution_outcome is not None)
    form.load(outcomes.outcome_of(meeting, side))
    if form.validate_on_submit():
        verdict = getattr(form, "verdict", None)
        report = outcomes.OutcomeReport(
            held=form.held.data == "yes", intent=form.amount("intent"), agreed=form.amount("agreed"),
            funded=form.amount("funded"), premium=form.amount("premium"), note=form.note.data or "",
            verdict=Verdict(verdict.data) if verdict is not None and verdict.data else None,
            dispute_reason=form.dispute_reason.data or "" if verdict is not None else "",
            confirm_above_need=bool(getattr(form, "confirm_above_need", None) and form.confirm_above_need.data))
        done = commit_or_refuse(form, lambda: outcomes.record_outcome(current_user, meeting, report),
                                success=_("会谈结果已保存。"), once=url_for("events.agenda"),
                                next_url=url_for("events.agenda"))
        if done is not None:
            return done
    consent.log_details_shown(current_user, [meeting.enterprise], request.path)
    db.session.commit()
    return render_template("events/participant/outcome.html", form=form, meeting=meeting, terms=terms,
                           financing_type_label=financing_type.label, side=side.value, institution_outcome=institution_outcome,
                           enterprise_outcome=enterprise_outcome,
                           name=agenda.counterpart_names(current_user, [meeting])[meeting.id])


@bp.route("/sessions/<int:session_id>/book", methods=["GET", "POST"])
@role_required(Role.SME)
def book(session_id: int):
    session = _public_session(session_id)
    form, status = BookingForm(), 200
    if form.validate_on_submit():
        institution = market.institution_by_id(form.institution.data) or abort(404)
        done = commit_or_refuse(
            form, lambda: agenda.book_slot(current_user, session, institution, form.slot.data, form.table.data),
            success=_("预约成功，已加入您的日程。"), once=url_for("events.agenda"), next_url=url_for("events.agenda"))
        if done is not None:
            return done
        status = 409  # refused: the slot was taken meanwhile, say
    offered = (request.args.get("institution", type=int), request.args.get("slot", type=int),
               request.args.get("table", type=int))
    options = agenda.bookable_institutions(session, current_user)
    return render_template("events/participant/book.html", session=session, form=form, offered=offered,
                           options=options,
                           table_heads=venue_tables.table_headings(session, [r for r, _cells in options])), status


# ---- what institutions see of SMEs, and the SME's consents ------------------------------------------

@bp.get("/sessions/<int:session_id>/enterprises")
@role_required(Role.INSTITUTION)
def session_enterprises(session_id: int):
    session = _public_session(session_id)
    rows = consent.session_leads(current_user, session)
    consented = consent.consented_enterprise_ids(current_user.institution_id, {r.enterprise_id for r in rows})
    consent.log_details_shown(current_user, [r.enterprise for r in rows], request.path)
    db.session.commit()
    summaries = {r.id: consent.anonymised_summary(r.enterprise, r.needs, _locale()) for r in rows}
    return render_template("events/participant/session_enterprises.html", session=session, rows=rows,
                           consented=consented, summaries=summaries)


@bp.get("/enterprises/<int:enterprise_id>")
@role_required(Role.INSTITUTION)
def enterprise_detail(enterprise_id: int):
    enterprise = market.enterprise_by_id(enterprise_id)
    if enterprise is None or not consent.enterprise_visible_to(current_user.institution_id, enterprise.id):
        abort(404)
    shown = consent.enterprise_view_for(current_user, enterprise, request.path)
    db.session.commit()
    return render_template("events/participant/enterprise_detail.html", enterprise=enterprise, shown=shown,
                           summary=consent.anonymised_summary(enterprise, locale=_locale()),
                           needs=[n for n in enterprise.needs if n.status != NeedStatus.WITHDRAWN])


@bp.get("/consents")
@role_required(Role.SME)
def consents():
    views = consent.detail_views_of(current_user)
    institutions = market.institutions_by_id({view.institution_id for view in views}) if views else {}
    return render_template("events/participant/consents.html", rows=consent.consents_of(current_user), views=views,
                           institutions=institutions, form=ConfirmForm())


@bp.post("/consents/<int:consent_id>/revoke")
@role_required(Role.SME)
def revoke_consent(consent_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    granted = consent.own_consent(current_user, consent_id)
    return commit_or_refuse(None, lambda: consent.revoke_consent(current_user, granted),
                            success=_("已撤回授权：该机构今后只能看到匿名摘要。"), next_url=url_for("events.consents"))


@bp.context_processor
def _vocabularies() -> dict:
    return {"EventStatus": EventStatus, "SessionKind": SessionKind, "SessionMode": SessionMode,
            "RegistrationStatus": RegistrationStatus, "RequestStatus": RequestStatus, "MeetingStatus": MeetingStatus,
            "MeetingSource": MeetingSource, "FinancingType": FinancingType, "LeadSource": LeadSource,
            "slot_label": agenda.slot_label, "calendar_note": calendar_note,
            "stored_unavailable_slots": registration.stored_unavailable_slots,
            "waitlist_explanation": registration.waitlist_explanation}
