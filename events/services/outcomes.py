"""What came of a meeting, as each side records it, and the need's place in the funnel.

Each side records its own Outcome (one row per meeting × side; recording again edits it). The
need's status follows the furthest step any of its meetings reached: met (held), intent (an intent
amount > 0), credit granted (授信 > 0), disbursed (放款 > 0). A withdrawn need never moves.

Disbursed above the credit line is saved with a warning, not refused: a disbursement may draw on a
credit line granted outside the event, and the two sides' figures are their own accounts.
"""
from dataclasses import dataclass, field

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from chainmatch.extensions import db
from events.enums import MeetingStatus, Side
from events.models import Meeting, Outcome
from market.enums import NeedStatus
from market.models import MAX_AMOUNT_YUAN, FinancingNeed, utcnow
from market.services import FieldError


@dataclass
class RecordedOutcome:
    outcome: Outcome
    warnings: list[str] = field(default_factory=list)


def side_of(actor, meeting: Meeting) -> Side:
    """Which side of the meeting the actor speaks for; 404 for anyone else."""
    if actor.enterprise_id is not None and actor.enterprise_id == meeting.enterprise_id:
        return Side.ENTERPRISE
    if actor.institution_id is not None and actor.institution_id == meeting.institution_id:
        return Side.INSTITUTION
    abort(404)


def outcome_of(meeting: Meeting, side: Side) -> Outcome | None:
    return db.session.scalar(select(Outcome).where(Outcome.meeting_id == meeting.id, Outcome.side == side.value))


def _check_amount(value: int | None, field_name: str) -> int | None:
    if value is None:
        return None
    if value < 0:
        raise FieldError(field_name, _l("金额不能为负数。"))
    if value > MAX_AMOUNT_YUAN:
        raise FieldError(field_name, _l("金额过大：不能超过 1000 亿元。"))
    return int(value)


def record_outcome(actor, meeting: Meeting, held: bool, intent_amount: int | None, credit_granted: int | None,
                   disbursed: int | None, note: str = "") -> RecordedOutcome:
    """One side says whether the meeting was held and what came of it (yuan); editing updates its row."""
    side = side_of(actor, meeting)
    if meeting.status == MeetingStatus.CANCELLED:
        raise FieldError("held", _l("会谈已取消，不能填写结果。"))
    if meeting.starts_at is not None and utcnow() < meeting.starts_at:
        raise FieldError("held", _l("会谈开始后才能填写结果。"))
    amounts = {"intent_amount": _check_amount(intent_amount, "intent_amount"),
               "credit_granted": _check_amount(credit_granted, "credit_granted"),
               "disbursed": _check_amount(disbursed, "disbursed")}
    if not held:
        for name, value in amounts.items():
            if value:
                raise FieldError(name, _l("未会谈（未到场）时不能填写意向、授信或放款金额。"))
    warnings = []
    credit, disbursed = amounts["credit_granted"], amounts["disbursed"]
    if disbursed and credit is not None and disbursed > credit:
        warnings.append(str(_l("放款金额大于授信金额，请核对（已保存）。")))
    values = dict(held=bool(held), intent_amount_yuan=amounts["intent_amount"],
                  credit_granted_yuan=amounts["credit_granted"], disbursed_yuan=amounts["disbursed"],
                  note=(note or "").strip()[:2000], recorded_by_user_id=actor.id, recorded_at=utcnow())
    outcome = outcome_of(meeting, side)
    if outcome is None:
        outcome = Outcome(meeting_id=meeting.id, side=side.value, **values)
        try:
            with db.session.begin_nested():
                db.session.add(outcome)
                db.session.flush()
        except IntegrityError:  # the same side saved meanwhile (two tabs): edit that row instead
            outcome = outcome_of(meeting, side)
            if outcome is None:
                raise
    for name, value in values.items():
        setattr(outcome, name, value)
    db.session.flush()
    _settle_meeting_status(meeting)
    if meeting.need is not None:
        refresh_need_status(meeting.need)
    return RecordedOutcome(outcome, warnings)


def _settle_meeting_status(meeting: Meeting) -> None:
    """Held if checked in or either side says so; a no-show only when nobody says it was held."""
    outcomes = db.session.scalars(select(Outcome).where(Outcome.meeting_id == meeting.id)).all()
    held = meeting.checked_in_at is not None or any(outcome.held for outcome in outcomes)
    target = MeetingStatus.HELD if held else MeetingStatus.NO_SHOW
    db.session.execute(update(Meeting).where(Meeting.id == meeting.id, Meeting.status != MeetingStatus.CANCELLED)
                       .values(status=target.value, updated_at=utcnow()))
    db.session.refresh(meeting)


def furthest_step(need: FinancingNeed) -> NeedStatus:
    """The furthest funnel step the need's (not cancelled) meetings and their outcomes reached."""
    meetings = db.session.scalars(select(Meeting).where(Meeting.need_id == need.id,
                                                        Meeting.status != MeetingStatus.CANCELLED)).all()
    step = NeedStatus.MATCHED if meetings else NeedStatus.OPEN
    outcomes = db.session.scalars(select(Outcome).where(Outcome.meeting_id.in_([m.id for m in meetings]))).all() \
        if meetings else []
    checks = (
        (NeedStatus.MET, any(m.status == MeetingStatus.HELD for m in meetings) or any(o.held for o in outcomes)),
        (NeedStatus.INTENT, any((o.intent_amount_yuan or 0) > 0 for o in outcomes)),
        (NeedStatus.CREDIT_GRANTED, any((o.credit_granted_yuan or 0) > 0 for o in outcomes)),
        (NeedStatus.DISBURSED, any((o.disbursed_yuan or 0) > 0 for o in outcomes)),
    )
    for status, reached in checks:
        if reached:
            step = status
    return step


def refresh_need_status(need: FinancingNeed) -> NeedStatus:
    """Set the need's status to the furthest step reached (never below "matched" once matched; never if withdrawn)."""
    if need.status == NeedStatus.WITHDRAWN:
        return NeedStatus.WITHDRAWN
    step = furthest_step(need)
    current = NeedStatus(need.status)
    if current in (NeedStatus.OPEN, NeedStatus.MATCHED) and current.funnel_rank > step.funnel_rank:
        step = current
    if step != current:
        db.session.execute(update(FinancingNeed).where(FinancingNeed.id == need.id,
                                                       FinancingNeed.status != NeedStatus.WITHDRAWN)
                           .values(status=step.value, updated_at=utcnow()))
        db.session.refresh(need)
    return NeedStatus(need.status)

