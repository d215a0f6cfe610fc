"""What came of a meeting, as each side records it, and the need's place in the funnel.

Each side records its own Outcome (one row per meeting × side; recording again edits it), in the steps of the
meeting's financing type (the need's, else the product's, else loan; see OUTCOME_TERMS):

    loan       意向 → 授信 (agreed) → 放款 (funded)
    equity     意向 → 签署投资协议 (agreed) → 资金到位 (funded)
    insurance  意向 → 出单: 保额 (agreed) and 保费 (premium)
    guarantee  意向 → 出具担保函 (agreed)

Who knows what: the institution's figures are authoritative. The SME records whether the meeting was held, its
own view of the figures and, once the institution has recorded, confirms or disputes the institution's figures
(a dispute needs a reason and is listed for the organiser). When the institution changes its figures, an SME's
confirmation no longer applies and is cleared; a dispute stays until the SME answers again.

What an SME-only figure does: it is stored and shown as "企业自报、未经机构确认" (unconfirmed), it never moves
the need beyond "达成意向" and the funnel never counts an SME's agreed or funded figure. The need's status follows
the furthest step reached: met (held by either side or checked in), intent (the institution's intent when it
has recorded, else the SME's), agreed / funded (the institution's figures only). A withdrawn need never moves.

Rules checked here, each refused beside its field: amounts within 0 … 1000 亿元; funded ≤ agreed; premium ≤
cover; an amount above the need's amount needs `confirm_above_need`, and one above ten times the need's amount
is refused outright (a unit slip: 元 typed as 万元); no amounts for a meeting that was not held.
"""
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.errors import FieldError, NotFound
from core.extensions import db
from core.money import wan_figure
from events.enums import MeetingStatus, Side, Verdict
from events.models import Meeting, Outcome
from events.services import availability
from market.enums import FinancingType, NeedStatus
from market.models import MAX_AMOUNT_YUAN, FinancingNeed

ABSURD_MULTIPLE_OF_NEED = 10
FIGURES = ("intent_amount_yuan", "agreed_amount_yuan", "funded_amount_yuan", "premium_yuan")


@dataclass(frozen=True)
class OutcomeTerms:
    """The words of one financing type's outcome steps; `None` where the type has no such step."""

    steps: tuple                 # the step names in order, 意向 first
    intent: object               # field labels (lazy, in 万元)
    agreed: object
    funded: object | None
    premium: object | None
    agreed_step: object          # the funnel's third outcome step in this type's words
    funded_step: object | None


OUTCOME_TERMS = {
    FinancingType.LOAN: OutcomeTerms(
        steps=(_l("意向"), _l("授信"), _l("放款")), intent=_l("意向金额（万元）"), agreed=_l("授信金额（万元）"),
        funded=_l("放款金额（万元）"), premium=None, agreed_step=_l("授信"), funded_step=_l("放款")),
    FinancingType.EQUITY: OutcomeTerms(
        steps=(_l("意向"), _l("签署投资协议"), _l("资金到位")), intent=_l("意向投资金额（万元）"),
        agreed=_l("投资协议金额（万元）"), funded=_l("到位资金（万元）"), premium=None,
        agreed_step=_l("签署投资协议"), funded_step=_l("资金到位")),
    FinancingType.INSURANCE: OutcomeTerms(
        steps=(_l("意向"), _l("出单")), intent=_l("意向保额（万元）"), agreed=_l("出单保额（万元）"), funded=None,
        premium=_l("保费（万元）"), agreed_step=_l("出单"), funded_step=None),
    FinancingType.GUARANTEE: OutcomeTerms(
        steps=(_l("意向"), _l("出具担保函")), intent=_l("意向担保金额（万元）"), agreed=_l("担保函金额（万元）"),
        funded=None, premium=None, agreed_step=_l("出具担保函"), funded_step=None),
}


@dataclass
class OutcomeReport:
    """What one side types into the outcome form (amounts in yuan)."""

    held: bool
    intent: int | None = None
    agreed: int | None = None
    funded: int | None = None
    premium: int | None = None
    note: str = ""
    verdict: Verdict | None = None      # the SME's answer to the institution's figures
    dispute_reason: str = ""
    confirm_above_need: bool = False


def side_of(actor, meeting: Meeting) -> Side:
    """Which side of the meeting the actor speaks for; 404 for anyone else."""
    if actor.enterprise_id is not None and actor.enterprise_id == meeting.enterprise_id:
        return Side.ENTERPRISE
    if actor.institution_id is not None and actor.institution_id == meeting.institution_id:
        return Side.INSTITUTION
    raise NotFound()


def meeting_financing_type(meeting: Meeting) -> FinancingType:
    """The need's type, else the product's, else loan."""
    if meeting.need is not None:
        return meeting.need.type
    if meeting.product is not None:
        return meeting.product.type
    return FinancingType.LOAN


def terms_of(financing_type) -> OutcomeTerms:
    return OUTCOME_TERMS[FinancingType(financing_type)]


def outcome_of(meeting: Meeting, side: Side) -> Outcome | None:
    return db.session.scalar(select(Outcome).where(Outcome.meeting_id == meeting.id, Outcome.side == side))


def _label(text) -> str:
    """A field label without its unit, for messages: "放款金额（万元）" → "放款金额"."""
    return str(text).split("（")[0].split(" (")[0]


def _check_amount(value: int | None, field_name: str) -> int | None:
    if value is None:
        return None
    if value < 0:
        raise FieldError(field_name, _("金额不能为负数。"))
    if value > MAX_AMOUNT_YUAN:
        raise FieldError(field_name, _("金额过大：不能超过 1000 亿元。"))
    return int(value)


def check_figures(meeting: Meeting, report: OutcomeReport, terms: OutcomeTerms) -> dict:
    """The report's amounts checked against the type, each other and the need; {field: yuan}."""
    fields = {"intent": terms.intent, "agreed": terms.agreed, "funded": terms.funded, "premium": terms.premium}
    amounts = {}
    for name, label in fields.items():
        value = getattr(report, name)
        if label is None:
            if value:
                raise FieldError(name, _("此项不适用于本次对接的融资类型。"))
            value = None
        amounts[name] = _check_amount(value, name)
    if not report.held:
        for name, value in amounts.items():
            if value:
                raise FieldError(name, _("未会谈（未到场）时不能填写金额。"))
    agreed = amounts["agreed"] or 0
    for name in ("funded", "premium"):
        value = amounts[name]
        if value and value > agreed:
            raise FieldError(name, _("%(what)s（%(amount)s 万元）不能超过%(limit)s（%(limit_amount)s 万元）；"
                                     "请先填写或核对%(limit)s。",
                                     what=_label(fields[name]), amount=wan_figure(value),
                                     limit=_label(terms.agreed), limit_amount=wan_figure(agreed)))
    need = meeting.need
    if need is not None:
        for name in ("intent", "agreed", "funded"):
            value = amounts[name]
            if not value or value <= need.amount_yuan:
                continue
            if value > need.amount_yuan * ABSURD_MULTIPLE_OF_NEED:
                raise FieldError(name, _("%(what)s（%(amount)s 万元）超过本需求金额（%(need)s 万元）的 %(times)s 倍，"
                                         "不予保存；请核对单位（万元）。",
                                         what=_label(fields[name]), amount=wan_figure(value),
                                         need=wan_figure(need.amount_yuan), times=ABSURD_MULTIPLE_OF_NEED))
            if not report.confirm_above_need:
                raise FieldError(name, _("%(what)s（%(amount)s 万元）超过本需求金额（%(need)s 万元）；"
                                         "如确属实，请勾选“金额超过需求金额，确认无误”后再保存。",
                                         what=_label(fields[name]), amount=wan_figure(value),
                                         need=wan_figure(need.amount_yuan)))
    return amounts


def record_outcome(actor, meeting: Meeting, report: OutcomeReport) -> Outcome:
    """One side says whether the meeting was held and what came of it; editing updates its row."""
    side = side_of(actor, meeting)
    availability.lock_parties([meeting.session_id])  # it settles the meeting's status: the one lock order
    db.session.refresh(meeting)
    if meeting.status == MeetingStatus.CANCELLED:
        raise FieldError("held", _("会谈已取消，不能填写结果。"))
    if meeting.starts_at is not None and utcnow() < meeting.starts_at:
        raise FieldError("held", _("会谈开始后才能填写结果。"))
    financing_type = meeting_financing_type(meeting)
    amounts = check_figures(meeting, report, terms_of(financing_type))
    values = dict(held=bool(report.held), financing_type=financing_type,
                  intent_amount_yuan=amounts["intent"], agreed_amount_yuan=amounts["agreed"],
                  funded_amount_yuan=amounts["funded"], premium_yuan=amounts["premium"],
                  note=(report.note or "").strip()[:2000], recorded_by_user_id=actor.id, recorded_at=utcnow())
    if side == Side.ENTERPRISE:
        values.update(_verdict_values(meeting, report))
    elif report.verdict is not None:
        raise FieldError("verdict", _("只有企业可以确认或提出异议。"))
    outcome = outcome_of(meeting, side)
    previous = _figures(outcome) if outcome is not None else None
    if outcome is None:
        outcome = Outcome(meeting_id=meeting.id, side=side, **values)
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
    if side == Side.INSTITUTION and previous != _figures(outcome):
        _clear_verdict(meeting)
    _settle_meeting_status(meeting)
    if meeting.need is not None:
        refresh_need_status(meeting.need)
    return outcome


def _figures(outcome: Outcome) -> tuple:
    return (outcome.held,) + tuple(getattr(outcome, name) for name in FIGURES)


def _verdict_values(meeting: Meeting, report: OutcomeReport) -> dict:
    """The SME's answer: only about figures the institution has recorded; a dispute says why."""
    if report.verdict is None:
        return dict(verdict=None, dispute_reason="", verdict_at=None)
    if outcome_of(meeting, Side.INSTITUTION) is None:
        raise FieldError("verdict", _("金融机构尚未填报结果，暂无可确认的数据。"))
    reason = (report.dispute_reason or "").strip()[:500]
    if report.verdict == Verdict.DISPUTED and not reason:
        raise FieldError("dispute_reason", _("请说明异议：哪一项与实际不符，实际情况如何。"))
    return dict(verdict=Verdict(report.verdict),
                dispute_reason=reason if report.verdict == Verdict.DISPUTED else "", verdict_at=utcnow())


def _clear_verdict(meeting: Meeting) -> None:
    """The institution changed its figures: the SME's confirmation was of other figures and is void. A dispute
    stays, listed for the organiser, until the SME answers again: re-saving cannot make a dispute disappear."""
    db.session.execute(update(Outcome).where(Outcome.meeting_id == meeting.id,
                                             Outcome.side == Side.ENTERPRISE,
                                             Outcome.verdict == Verdict.CONFIRMED)
                       .values(verdict=None, verdict_at=None))


def _settle_meeting_status(meeting: Meeting) -> None:
    """Held if checked in or either side says so; a no-show only when nobody says it was held."""
    outcomes = db.session.scalars(select(Outcome).where(Outcome.meeting_id == meeting.id)).all()
    held = meeting.checked_in_at is not None or any(outcome.held for outcome in outcomes)
    target = MeetingStatus.HELD if held else MeetingStatus.NO_SHOW
    db.session.execute(update(Meeting).where(Meeting.id == meeting.id, Meeting.status != MeetingStatus.CANCELLED)
                       .values(status=target, updated_at=utcnow()))
    db.session.refresh(meeting)


@dataclass(frozen=True)
class MeetingFigures:
    """A meeting's outcome as the reports read it: the institution's figures, the SME's and its answer."""

    held: bool
    intent: int | None
    agreed: int | None
    funded: int | None
    premium: int | None
    confirmed: bool                     # the institution recorded and the SME confirmed
    disputed: bool
    enterprise_agreed: int | None       # an SME-only figure: shown, never counted
    enterprise_funded: int | None


def figures_of(outcomes: list[Outcome]) -> MeetingFigures | None:
    """The one reading of a meeting's two rows that the need status, the pages and the reports share."""
    by_side = {outcome.side: outcome for outcome in outcomes}
    institution, enterprise = by_side.get(Side.INSTITUTION), by_side.get(Side.ENTERPRISE)
    if institution is None and enterprise is None:
        return None
    verdict = enterprise.verdict if enterprise is not None else None
    return MeetingFigures(
        held=any(outcome.held for outcome in outcomes),
        intent=(institution or enterprise).intent_amount_yuan,
        agreed=institution.agreed_amount_yuan if institution else None,
        funded=institution.funded_amount_yuan if institution else None,
        premium=institution.premium_yuan if institution else None,
        confirmed=institution is not None and verdict == Verdict.CONFIRMED,
        disputed=institution is not None and verdict == Verdict.DISPUTED,
        enterprise_agreed=enterprise.agreed_amount_yuan if enterprise else None,
        enterprise_funded=enterprise.funded_amount_yuan if enterprise else None)


def furthest_step(need: FinancingNeed) -> NeedStatus:
    """The furthest funnel step the need's (not cancelled) meetings reached, by the institution's figures."""
    meetings = db.session.scalars(select(Meeting).where(Meeting.need_id == need.id,
                                                        Meeting.status != MeetingStatus.CANCELLED)).all()
    step = NeedStatus.MATCHED if meetings else NeedStatus.OPEN
    rows = db.session.scalars(select(Outcome).where(Outcome.meeting_id.in_([m.id for m in meetings]))).all() \
        if meetings else []
    per_meeting = [figures_of([row for row in rows if row.meeting_id == m.id]) for m in meetings]
    readings = [reading for reading in per_meeting if reading is not None]
    checks = (
        (NeedStatus.MET, any(m.status == MeetingStatus.HELD for m in meetings) or any(r.held for r in readings)),
        (NeedStatus.INTENT, any((r.intent or 0) > 0 for r in readings)),
        (NeedStatus.CREDIT_GRANTED, any((r.agreed or 0) > 0 for r in readings)),
        (NeedStatus.DISBURSED, any((r.funded or 0) > 0 for r in readings)),
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
    current = need.status
    if current in (NeedStatus.OPEN, NeedStatus.MATCHED) and current.funnel_rank > step.funnel_rank:
        step = current
    if step != current:
        db.session.execute(update(FinancingNeed).where(FinancingNeed.id == need.id,
                                                       FinancingNeed.status != NeedStatus.WITHDRAWN)
                           .values(status=step, updated_at=utcnow()))
        db.session.refresh(need)
    return need.status
