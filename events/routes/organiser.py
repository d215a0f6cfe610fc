"""The organiser's desk: year plan, events, sessions, registrations review, matching, schedule, publication."""
from datetime import date

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.access import role_required
from core.roles import Role
from core.views import commit_or_refuse
from events.enums import EventStatus, MeetingSource, MeetingStatus, RegistrationStatus, SessionKind, SessionMode
from events.forms.organiser import (
    AddMeetingForm,
    CancelMeetingForm,
    ConfirmForm,
    DecisionForm,
    EventForm,
    MoveMeetingForm,
    NewEventForm,
    NewPlanEntryForm,
    NewSessionForm,
    PlanEntryForm,
    SessionForm,
    StatusForm,
)
from events.services import (
    planning,
    publication,
    registration,
    requests,
    schedule_edits,
    scheduling,
    scope,
    slots,
    venue_tables,
)
from market.enums import FinancingType

bp = Blueprint("organiser", __name__, url_prefix="/organiser")
ORGANISERS = (Role.ORGANISER, Role.ADMIN)


@bp.context_processor
def _vocabularies() -> dict:
    return {"EventStatus": EventStatus, "SessionKind": SessionKind, "SessionMode": SessionMode,
            "RegistrationStatus": RegistrationStatus, "MeetingStatus": MeetingStatus, "MeetingSource": MeetingSource,
            "FinancingType": FinancingType, "slot_label": slots.slot_label,
            "stored_unavailable_slots": registration.stored_unavailable_slots}


# ---- year plan --------------------------------------------------------------------------------

@bp.get("/")
@role_required(*ORGANISERS)
def index():
    return redirect(url_for("organiser.events"))


@bp.get("/plan")
@role_required(*ORGANISERS)
def plan():
    year = request.args.get("year", type=int) or date.today().year
    entries = planning.plan_for_year(current_user, year)
    years = sorted(set(planning.plan_years(current_user)) | {year - 1, year, year + 1})
    office_names = scope.office_names(entry.organiser_office_id for entry in entries)
    return render_template("events/organiser/plan.html", year=year, years=years, entries=entries,
                           office_names=office_names)


@bp.route("/plan/new", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def new_plan_entry():
    form = NewPlanEntryForm(current_user)
    if not form.is_submitted():
        form.year.data = request.args.get("year", type=int) or date.today().year
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: planning.create_plan_entry(current_user, form.facts()),
                                success=_("已加入年度计划。"), once=url_for("organiser.plan"),
                                next_url=lambda entry: url_for("organiser.plan", year=entry.year))
        if done is not None:
            return done
    return render_template("events/organiser/plan_entry_form.html", form=form, entry=None)


@bp.route("/plan/<int:entry_id>/edit", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def edit_plan_entry(entry_id: int):
    entry = scope.plan_entry_for(current_user, entry_id)
    form = PlanEntryForm(current_user)
    form.fill_from(entry)
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: planning.update_plan_entry(current_user, entry, form.facts()),
                                success=_("年度计划已更新。"),
                                next_url=lambda _result: url_for("organiser.plan", year=entry.year))
        if done is not None:
            return done
    return render_template("events/organiser/plan_entry_form.html", form=form, entry=entry)


# ---- events -----------------------------------------------------------------------------------

@bp.get("/events")
@role_required(*ORGANISERS)
def events():
    rows = scope.visible_events(current_user)
    return render_template("events/organiser/events.html", events=rows)


@bp.route("/events/new", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def new_event():
    entry_id = request.args.get("plan", type=int)
    entry = scope.plan_entry_for(current_user, entry_id) if entry_id else None
    if entry is not None and entry.event is not None:
        return redirect(url_for("organiser.event_detail", event_id=entry.event.id))
    form = NewEventForm(current_user, plan_entry=entry)
    if entry is not None:
        form.fill_from_plan(entry)
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: planning.create_event(current_user, form.facts(), plan_entry=entry),
                                success=_("活动已创建（草稿）。请添加场次。"), once=url_for("organiser.events"),
                                next_url=lambda event: url_for("organiser.event_detail", event_id=event.id))
        if done is not None:
            return done
    return render_template("events/organiser/event_form.html", form=form, event=None, entry=entry)


@bp.get("/events/<int:event_id>")
@role_required(*ORGANISERS)
def event_detail(event_id: int):
    event = scope.event_for(current_user, event_id)
    counts = registration.registration_counts(event.sessions)
    meeting_counts = scheduling.meeting_counts(event.sessions)
    return render_template("events/organiser/event_detail.html", event=event, counts=counts,
                           meeting_counts=meeting_counts, status_form=StatusForm(),
                           outlook=planning.opening_outlook(event),
                           next_status=planning.next_status(event), earlier=planning.previous_statuses(event),
                           statuses=list(EventStatus), registration_statuses=list(RegistrationStatus))


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def edit_event(event_id: int):
    event = scope.event_for(current_user, event_id)
    form = EventForm(current_user, plan_entry=event.plan_entry)
    form.fill_from(event)
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: planning.update_event(current_user, event, form.facts()),
                                success=_("活动信息已保存。"),
                                next_url=url_for("organiser.event_detail", event_id=event.id))
        if done is not None:
            return done
    return render_template("events/organiser/event_form.html", form=form, event=event, entry=event.plan_entry)


@bp.post("/events/<int:event_id>/status")
@role_required(*ORGANISERS)
def change_status(event_id: int):
    event = scope.event_for(current_user, event_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    def said(changed):
        if changed:
            return _("活动状态已改为“%(status)s”。", status=event.status.label), "success"
        return _("状态未变化（可能已被他人修改），当前为“%(status)s”。", status=event.status.label), "info"

    return commit_or_refuse(None, lambda: planning.advance_event(current_user, event, form.to_status.data,
                                                                 form.reason.data or ""),
                            success=said, next_url=url_for("organiser.event_detail", event_id=event.id) + "#status")


def _change_readiness(event_id: int, ready: bool):
    event = scope.event_for(current_user, event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    def said(changed):
        if ready:
            text = _("已标记为准备就绪。") if changed else _("活动此前已标记为准备就绪，未作更改。")
        else:
            text = _("已取消准备就绪：定时任务不会开放报名。") if changed else _("活动本来就未标记为准备就绪，未作更改。")
        return text, "success" if changed else "info"

    return commit_or_refuse(None, lambda: (planning.mark_ready if ready else planning.unmark_ready)(current_user, event),
                            success=said, next_url=url_for("organiser.event_detail", event_id=event.id) + "#status")


@bp.post("/events/<int:event_id>/ready")
@role_required(*ORGANISERS)
def mark_ready(event_id: int):
    """The organiser says the draft is set up: registration opens by the clock."""
    return _change_readiness(event_id, True)


@bp.post("/events/<int:event_id>/unready")
@role_required(*ORGANISERS)
def unmark_ready(event_id: int):
    """Take "ready" back while still a draft."""
    return _change_readiness(event_id, False)


# ---- sessions ---------------------------------------------------------------------------------

@bp.route("/events/<int:event_id>/sessions/new", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def new_session(event_id: int):
    event = scope.event_for(current_user, event_id)
    form = NewSessionForm(event)
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: planning.create_session(current_user, event, form.facts()),
                                success=_("场次已添加。"), once=url_for("organiser.event_detail", event_id=event.id),
                                next_url=url_for("organiser.event_detail", event_id=event.id))
        if done is not None:
            return done
    return render_template("events/organiser/session_form.html", form=form, event=event, session=None)


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@role_required(*ORGANISERS)
def edit_session(session_id: int):
    session = scope.session_for(current_user, session_id)
    form = SessionForm(session.event)
    form.fill_from(session)
    if form.validate_on_submit():
        done = commit_or_refuse(form, lambda: planning.update_session(current_user, session, form.facts()),
                                success=_("场次已保存。"),
                                next_url=lambda _result: url_for("organiser.event_detail", event_id=session.event_id))
        if done is not None:
            return done
    return render_template("events/organiser/session_form.html", form=form, event=session.event, session=session)


# ---- registrations review ---------------------------------------------------------------------

@bp.get("/sessions/<int:session_id>/registrations")
@role_required(*ORGANISERS)
def session_registrations(session_id: int):
    session = scope.session_for(current_user, session_id)
    rows = registration.session_registrations(session)
    return render_template("events/organiser/registrations.html", session=session, event=session.event,
                           enterprises=[r for r in rows if r.enterprise_id is not None],
                           institutions=[r for r in rows if r.institution_id is not None])


@bp.post("/registrations/<int:registration_id>/decision")
@role_required(*ORGANISERS)
def decide_registration(registration_id: int):
    entry = scope.registration_for(current_user, registration_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    decide = {"approve": lambda: registration.approve_registration(current_user, entry),
              "reject": lambda: registration.reject_registration(current_user, entry, form.reason.data or ""),
              "waitlist": lambda: registration.waitlist_registration(current_user, entry, form.reason.data or "")}
    return commit_or_refuse(
        None, decide[form.decision.data],
        success=lambda _result: _("已更新报名状态：%(status)s。", status=entry.status.label),
        next_url=url_for("organiser.session_registrations", session_id=entry.session_id) + f"#registration-{entry.id}")


# ---- matching and the schedule ----------------------------------------------------------------

def _slot_choices(session) -> list[tuple[int, str]]:
    return [(slot, slots.slot_label(session, slot)) for slot in range(session.slot_count)]


def _render_matching(session, status: int = 200, failed_meeting_id: int | None = None, move_form=None,
                     cancel_form=None, add_form=None, prefill: dict | None = None):
    registrations = scheduling.approved_registrations(session)
    enterprise_regs = [r for r in registrations if r.enterprise_id is not None]
    institution_regs = [r for r in registrations if r.institution_id is not None]
    slots = _slot_choices(session)
    if add_form is None:
        add_form = AddMeetingForm(slots, [(r.enterprise_id, r.enterprise.name) for r in enterprise_regs],
                                  [(r.institution_id, r.institution.name) for r in institution_regs], formdata=None,
                                  data={"table_number": 1, **(prefill or {})})
    pending = requests.pending_requests_for_session(session)
    attending = ({r.enterprise_id for r in enterprise_regs}, {r.institution_id for r in institution_regs})
    meetings = scheduling.active_meetings(session)
    cells = {(m.institution_id, m.table_number, m.slot): m for m in meetings if m.slot is not None}
    table_heads = venue_tables.table_headings(session, institution_regs)
    unmatched = scheduling.unmatched_enterprises(session)
    cancelled = scheduling.cancelled_meetings(session)
    return render_template(
        "events/organiser/matching.html", session=session, event=session.event, slots=slots,
        institution_regs=institution_regs, enterprise_count=len(enterprise_regs), meetings=meetings, cells=cells,
        table_heads=table_heads, has_venue_tables=venue_tables.has_venue_tables(session),
        unplaced=[m for m in meetings if m.slot is None], unmatched=unmatched, cancelled=cancelled,
        proposed=sum(m.status == MeetingStatus.PROPOSED for m in meetings),
        met_enterprises=len({m.enterprise_id for m in meetings}), add_form=add_form,
        failed_meeting_id=failed_meeting_id, move_form=move_form, cancel_form=cancel_form, pending=pending,
        placeable={r.id for r in pending if r.enterprise_id in attending[0] and r.institution_id in attending[1]},
        blank_move=lambda meeting: MoveMeetingForm(slots, formdata=None, data={
            "slot": meeting.slot, "table_number": meeting.table_number}, prefix=f"m{meeting.id}"),
        blank_cancel=lambda meeting: CancelMeetingForm(formdata=None, prefix=f"c{meeting.id}")), status


@bp.get("/sessions/<int:session_id>/matching")
@role_required(*ORGANISERS)
def matching(session_id: int):
    session = scope.session_for(current_user, session_id)
    if not session.kind_enum.has_meetings:
        abort(404)
    prefill = {name: request.args.get(name, type=int) for name in ("enterprise", "institution")}
    return _render_matching(session, prefill={k: v for k, v in prefill.items() if v})


@bp.post("/sessions/<int:session_id>/matching/run")
@role_required(*ORGANISERS)
def run_matching(session_id: int):
    session = scope.session_for(current_user, session_id)
    return commit_or_refuse(
        None, lambda: scheduling.run_matching(current_user, session),
        success=lambda summary: _("匹配完成：拟安排 %(meetings)s 场会谈，%(unmatched)s 家企业暂无会谈。",
                                  meetings=summary.meetings, unmatched=summary.unmatched),
        next_url=url_for("organiser.matching", session_id=session.id))


@bp.post("/meetings/<int:meeting_id>/move")
@role_required(*ORGANISERS)
def move_meeting(meeting_id: int):
    meeting = scope.meeting_for(current_user, meeting_id)
    session = meeting.session
    form = MoveMeetingForm(_slot_choices(session), prefix=f"m{meeting.id}")
    if form.validate_on_submit():
        done = commit_or_refuse(
            form, lambda: schedule_edits.move_meeting(current_user, meeting, form.slot.data, form.table_number.data),
            success=lambda _result: _("会谈已调整到%(slot)s、%(table)s。", slot=slots.slot_label(session, meeting.slot),
                                      table=venue_tables.meeting_table_label(meeting)
                                      or _("%(n)s 号桌", n=meeting.table_number)),
            next_url=url_for("organiser.matching", session_id=session.id) + f"#meeting-{meeting.id}")
        if done is not None:
            return done
    return _render_matching(session, 422, failed_meeting_id=meeting.id, move_form=form)


@bp.post("/meetings/<int:meeting_id>/cancel")
@role_required(*ORGANISERS)
def cancel_meeting(meeting_id: int):
    meeting = scope.meeting_for(current_user, meeting_id)
    session = meeting.session
    form = CancelMeetingForm(prefix=f"c{meeting.id}")
    if form.validate_on_submit():
        done = commit_or_refuse(
            form, lambda: schedule_edits.cancel_meeting(current_user, meeting, form.reason.data),
            success=lambda cancelled: _("会谈已取消。") if cancelled else
            (_("会谈未取消：它现在是“%(status)s”状态。", status=meeting.status.label), "error"),
            next_url=url_for("organiser.matching", session_id=session.id))
        if done is not None:
            return done
    return _render_matching(session, 422, failed_meeting_id=meeting.id, cancel_form=form)


@bp.post("/sessions/<int:session_id>/meetings")
@role_required(*ORGANISERS)
def add_meeting(session_id: int):
    session = scope.session_for(current_user, session_id)
    registrations = scheduling.approved_registrations(session)
    form = AddMeetingForm(_slot_choices(session),
                          [(r.enterprise_id, r.enterprise.name) for r in registrations if r.enterprise_id],
                          [(r.institution_id, r.institution.name) for r in registrations if r.institution_id])
    if form.validate_on_submit():
        done = commit_or_refuse(
            form, lambda: schedule_edits.add_meeting(current_user, session, form.enterprise.data, form.institution.data,
                                                     form.slot.data, form.table_number.data),
            success=_("已添加会谈（待发布）。"), once=url_for("organiser.matching", session_id=session.id),
            next_url=lambda meeting: url_for("organiser.matching", session_id=session.id) + f"#meeting-{meeting.id}")
        if done is not None:
            return done
    return _render_matching(session, 422, add_form=form)


@bp.get("/sessions/<int:session_id>/table-plan")
@role_required(*ORGANISERS)
def table_plan(session_id: int):
    """The printable plan for the day: one page per time slot, then a table card (桌签) per venue table."""
    session = scope.session_for(current_user, session_id)
    if not venue_tables.has_venue_tables(session):
        abort(404)
    return render_template("events/organiser/table_plan.html", session=session, event=session.event,
                           plan=venue_tables.table_plan(current_user, session))


@bp.post("/sessions/<int:session_id>/publish")
@role_required(*ORGANISERS)
def publish(session_id: int):
    session = scope.session_for(current_user, session_id)
    return commit_or_refuse(
        None, lambda: publication.publish_schedule(current_user, session),
        success=lambda summary: _("日程已发布：新排定 %(scheduled)s 场会谈，已通知 %(messages)s 位参会用户。",
                                  scheduled=summary.scheduled, messages=summary.messages),
        next_url=url_for("organiser.matching", session_id=session.id))
