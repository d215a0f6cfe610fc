"""Excel workbooks (openpyxl) in the layouts organisers hand to their superiors (汇总表).

Each sheet: a title row, a bold frozen header, set column widths, the rows and a totals row. Amounts in 万元.
The same reach and filters as the dashboard (events.services.reports); the totals of the 汇总表 equal the
dashboard's figures for the same filters (需求金额 counts each need once, like the funnel).
"""
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from flask_babel import gettext as _
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from core.clock import format_shanghai
from core.extensions import db
from core.roles import Role
from events.enums import MeetingStatus, RegistrationStatus
from events.enums import Side as OutcomeSide  # openpyxl has a Side too
from events.models import Event, EventSession, Meeting, Registration
from events.services import venue_tables
from events.services.event_summary import event_summaries
from events.services.outcomes import OUTCOME_TERMS
from events.services.reports import (
    MATCHED_STATUSES,
    ReportFilter,
    effective_outcome,
    enterprise_conditions,
    event_conditions,
    financing_type_label,
)
from events.services.workbooks import TextOnlyWorkbook, workbook_bytes
from market.enums import FinancingType, RegionLevel
from market.models import Chain, Enterprise, Institution, Region

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = "#,##0.00"
THIN = Side(style="thin", color="B9C1CC")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="F4F6F9")


@dataclass
class Download:
    filename: str          # shown to the user, Chinese
    ascii_filename: str    # fallback for old clients
    content: bytes

    @property
    def content_disposition(self) -> str:
        """RFC 6266 with the RFC 5987 `filename*` for the Chinese name."""
        return (f'attachment; filename="{self.ascii_filename}"; '
                f"filename*=UTF-8''{quote(self.filename, safe='')}")


def _wan(yuan: int | None) -> Decimal | None:
    return None if yuan is None else Decimal(yuan) / 10_000


def _write_sheet(sheet, title: str, columns: list[tuple[str, int]], rows: list[list], totals: list | None,
                 money_columns: set[int] = frozenset(), percent_columns: set[int] = frozenset()) -> None:
    """Title row (merged), bold header row (frozen), data rows, an optional bold totals row."""
    width = len(columns)
    sheet.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    sheet.cell(row=1, column=1).alignment = Alignment(horizontal="center", vertical="center")
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.row_dimensions[1].height = 28
    for index, (header, column_width) in enumerate(columns, start=1):
        cell = sheet.cell(row=2, column=index, value=header)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = column_width
    body = rows + ([totals] if totals is not None else [])
    for row_index, values in enumerate(body, start=3):
        for column_index, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_index, column=column_index, value=value)
            cell.border = BORDER
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            if column_index in money_columns:
                cell.number_format = MONEY_FORMAT
            elif column_index in percent_columns:
                cell.number_format = "0.0%"
    if totals is not None:
        for column_index in range(1, width + 1):
            sheet.cell(row=2 + len(body), column=column_index).font = Font(bold=True)
    sheet.freeze_panes = "A3"
    sheet.print_title_rows = "2:2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1


def _save(workbook: TextOnlyWorkbook, filename: str, ascii_filename: str) -> Download:
    return Download(filename, ascii_filename, workbook_bytes(workbook))


def scope_title(actor, filters: ReportFilter) -> str:
    """What the workbook covers, e.g. "2025年3月 · 人工智能产业链 · 杭州" or "全部活动"."""
    if filters.event_id is not None:
        return db.session.get(Event, filters.event_id).title
    parts = []
    if filters.year and filters.month:
        parts.append(_("%(year)s年%(month)s月", year=filters.year, month=filters.month))
    elif filters.year:
        parts.append(_("%(year)s年", year=filters.year))
    elif filters.month:
        parts.append(_("各年%(month)s月", month=filters.month))
    if filters.chain_id:
        parts.append(db.session.get(Chain, filters.chain_id).name_zh)
    if filters.region_code:
        region = db.session.get(Region, filters.region_code)
        parts.append(region.name_zh if region else filters.region_code)
    if actor is not None and actor.role == Role.ORGANISER and not parts:
        parts.append(actor.organiser_office.name)
    return " · ".join(str(part) for part in parts) or _("全部活动")


def _file_stem(actor, filters: ReportFilter) -> str:
    return scope_title(actor, filters).replace(" · ", "_").replace("/", "_").replace(" ", "")


def region_full_names(codes) -> dict[str, str]:
    """"杭州市西湖区" for a district, "杭州市" for a city, in two queries."""
    codes = set(codes)
    regions = {region.code: region for region in db.session.scalars(select(Region).where(Region.code.in_(codes)))}
    parents = {region.parent_code for region in regions.values()
               if region.level == RegionLevel.DISTRICT and region.parent_code}
    parent_names = {region.code: region.name_zh for region in db.session.scalars(
        select(Region).where(Region.code.in_(parents)))} if parents else {}
    names = {}
    for code in codes:
        region = regions.get(code)
        if region is None:
            names[code] = code
        elif region.level == RegionLevel.DISTRICT:
            names[code] = parent_names.get(region.parent_code, "") + region.name_zh
        else:
            names[code] = region.name_zh
    return names


def _session_label(session: EventSession, several_events: bool) -> str:
    return f"{session.event.title} / {session.title}" if several_events else session.title


# ---- 报名汇总表 --------------------------------------------------------------------------------------

def registrations_workbook(actor, filters: ReportFilter) -> Download:
    """SME registrations (one row each, every status) and, on a second sheet, the institutions'."""
    where = event_conditions(actor, filters)
    if filters.region_code:
        where.append(or_(Registration.enterprise_id.is_(None), *enterprise_conditions(filters)))
    registrations = list(db.session.scalars(
        select(Registration)
        .join(EventSession, EventSession.id == Registration.session_id).join(Event, Event.id == EventSession.event_id)
        .outerjoin(Enterprise, Enterprise.id == Registration.enterprise_id)
        .outerjoin(Institution, Institution.id == Registration.institution_id)
        .where(*where)
        .options(selectinload(Registration.needs), selectinload(Registration.enterprise).selectinload(Enterprise.chain),
                 selectinload(Registration.institution), selectinload(Registration.staff),
                 selectinload(Registration.session).selectinload(EventSession.event))
        .order_by(Event.starts_on, EventSession.starts_at, EventSession.id, Registration.created_at,
                  Registration.id)))
    smes = [r for r in registrations if r.enterprise_id is not None]
    institutions = [r for r in registrations if r.institution_id is not None]
    several_events = len({r.session.event_id for r in registrations}) > 1
    regions = region_full_names(r.enterprise.region_code for r in smes)
    title = scope_title(actor, filters)

    workbook = TextOnlyWorkbook()
    sheet = workbook.active
    sheet.title = _("企业报名")
    rows, approved_needs = [], {}
    for number, registration in enumerate(smes, start=1):
        enterprise = registration.enterprise
        amount = sum(need.amount_yuan for need in registration.needs)
        if registration.status == RegistrationStatus.APPROVED:
            approved_needs.update((need.id, need.amount_yuan) for need in registration.needs)
        types = sorted({need.type for need in registration.needs})
        rows.append([number, enterprise.name, enterprise.credit_code, regions[enterprise.region_code],
                     enterprise.chain.name_zh, "、".join(financing_type_label(t) for t in types),
                     _wan(amount) if registration.needs else None, _session_label(registration.session, several_events),
                     registration.status.label, format_shanghai(registration.created_at)])
    approved = sum(1 for r in smes if r.status == RegistrationStatus.APPROVED)
    totals = [_("合计"), _("%(n)s 条报名，其中已通过 %(a)s 条", n=len(smes), a=approved), "", "", "", "",
              _wan(sum(approved_needs.values())), _("金额为已通过报名的需求合计（每项需求计一次）"), "", ""]
    _write_sheet(sheet, _("企业报名汇总表 — %(title)s（金额单位：万元）", title=title),
                 [(_("序号"), 6), (_("企业名称"), 30), (_("统一社会信用代码"), 22), (_("所在地区"), 16),
                  (_("产业链"), 14), (_("融资类型"), 14), (_("需求金额(万元)"), 14), (_("报名场次"), 26),
                  (_("状态"), 10), (_("报名时间"), 17)], rows, totals, money_columns={7})

    sheet = workbook.create_sheet(_("机构报名"))
    rows = [[number, r.institution.name, r.institution.kind_label, _session_label(r.session, several_events),
             r.tables, "、".join(person.name for person in r.staff), r.status.label,
             format_shanghai(r.created_at)] for number, r in enumerate(institutions, start=1)]
    _write_sheet(sheet, _("金融机构报名汇总表 — %(title)s", title=title),
                 [(_("序号"), 6), (_("机构名称"), 32), (_("机构类别"), 12), (_("报名场次"), 26), (_("桌数"), 8),
                  (_("参会人员"), 24), (_("状态"), 10), (_("报名时间"), 17)], rows,
                 [_("合计"), _("%(n)s 家机构", n=len(institutions)), "", "",
                  sum(r.tables or 0 for r in institutions), "", "", ""])
    return _save(workbook, _("报名汇总表_%(stem)s.xlsx", stem=_file_stem(actor, filters)), "registrations.xlsx")


# ---- 对接日程表 --------------------------------------------------------------------------------------

def schedule_workbook(actor, filters: ReportFilter) -> Download:
    """Every meeting with a slot and a table (cancelled ones aside), session by session, slot by slot."""
    meetings = list(db.session.scalars(
        select(Meeting)
        .join(EventSession, EventSession.id == Meeting.session_id).join(Event, Event.id == EventSession.event_id)
        .join(Enterprise, Enterprise.id == Meeting.enterprise_id)
        .join(Institution, Institution.id == Meeting.institution_id)
        .where(Meeting.status != MeetingStatus.CANCELLED, Meeting.slot.is_not(None),
               *event_conditions(actor, filters), *enterprise_conditions(filters))
        .options(selectinload(Meeting.session).selectinload(EventSession.event), selectinload(Meeting.enterprise),
                 selectinload(Meeting.institution), selectinload(Meeting.product))
        .order_by(Event.starts_on, EventSession.starts_at, EventSession.id, Meeting.slot, Institution.name,
                  Meeting.table_number)))
    meetings.sort(key=lambda m: (m.session.event.starts_on, m.session.starts_at, m.session_id, m.slot,
                                 m.venue_table.number if m.venue_table else 10_000, m.institution.name))
    several_events = len({m.session.event_id for m in meetings}) > 1
    rows = []
    for meeting in meetings:
        times = f"{format_shanghai(meeting.starts_at, '%m-%d %H:%M')}–{format_shanghai(meeting.ends_at, '%H:%M')}"
        table = venue_tables.meeting_table_label(meeting) or _("线上会议室 %(n)s", n=meeting.table_number)
        rows.append([_session_label(meeting.session, several_events), times, table,
                     meeting.enterprise.name, meeting.institution.name,
                     meeting.product.name if meeting.product else "",
                     None if meeting.score is None else Decimal(meeting.score) / 1000,
                     meeting.status.label])
    totals = [_("合计"), _("%(n)s 场对接", n=len(meetings)), "", _("%(n)s 家企业", n=len({m.enterprise_id for m in meetings})),
              _("%(n)s 家机构", n=len({m.institution_id for m in meetings})), "", "", ""]
    workbook = TextOnlyWorkbook()
    sheet = workbook.active
    sheet.title = _("对接日程")
    _write_sheet(sheet, _("对接日程表 — %(title)s", title=scope_title(actor, filters)),
                 [(_("场次"), 26), (_("时段"), 16), (_("桌号"), 18), (_("企业"), 30), (_("机构"), 30),
                  (_("产品"), 22), (_("匹配度"), 9), (_("状态"), 10)], rows, totals, percent_columns={7})
    return _save(workbook, _("对接日程表_%(stem)s.xlsx", stem=_file_stem(actor, filters)), "schedule.xlsx")


# ---- 对接成效汇总表 ----------------------------------------------------------------------------------

def outcome_rows(actor, filters: ReportFilter) -> list:
    """One row per meeting that took a place in the published schedule (scheduled, held, no-show)."""
    outcome = effective_outcome()
    return list(db.session.execute(
        select(Meeting, outcome.c.held, outcome.c.intent, outcome.c.agreed, outcome.c.funded, outcome.c.premium,
               outcome.c.confirmed, outcome.c.disputed, outcome.c.enterprise_agreed, outcome.c.enterprise_funded)
        .join(EventSession, EventSession.id == Meeting.session_id).join(Event, Event.id == EventSession.event_id)
        .join(Enterprise, Enterprise.id == Meeting.enterprise_id)
        .join(Institution, Institution.id == Meeting.institution_id)
        .outerjoin(outcome, outcome.c.meeting_id == Meeting.id)
        .where(Meeting.status.in_(MATCHED_STATUSES), *event_conditions(actor, filters),
               *enterprise_conditions(filters))
        .options(selectinload(Meeting.enterprise).selectinload(Enterprise._node_rows),
                 selectinload(Meeting.institution), selectinload(Meeting.need), selectinload(Meeting.product),
                 selectinload(Meeting.outcomes))
        .order_by(Event.starts_on, Enterprise.name, Enterprise.id, EventSession.starts_at, Meeting.slot,
                  Meeting.id)))


def confirmation_label(meeting: Meeting, confirmed, disputed) -> str:
    """已确认 / 待企业确认 / 企业有异议 / 仅企业填报（未经机构确认） / 未填报."""
    sides = {outcome.side for outcome in meeting.outcomes}
    if "institution" not in sides:
        return _("仅企业填报（未经机构确认）") if sides else _("未填报")
    if disputed:
        return _("企业有异议")
    return _("已确认") if confirmed else _("待企业确认")


def outcomes_workbook(actor, filters: ReportFilter) -> Download:
    """Per meeting (the institution's figures, their confirmation, SME-only figures apart), then the per-event
    summary (活动汇总), the figures by financing type in each type's words, and the disputes."""
    rows_in = outcome_rows(actor, filters)
    regions = region_full_names(row[0].enterprise.region_code for row in rows_in)
    rows, needs, held_count = [], {}, 0
    totals_yuan = {"intent": 0, "agreed": 0, "funded": 0, "premium": 0}
    for number, (meeting, outcome_held, intent, agreed, funded, premium, confirmed, disputed, sme_agreed,
                 sme_funded) in enumerate(rows_in, start=1):
        enterprise, need = meeting.enterprise, meeting.need
        held = (meeting.status == MeetingStatus.HELD or meeting.checked_in_at is not None or outcome_held is True)
        held_count += held
        if need is not None:
            needs[need.id] = need.amount_yuan
        for key, value in (("intent", intent), ("agreed", agreed), ("funded", funded), ("premium", premium)):
            totals_yuan[key] += value or 0
        financing_type = need.type if need else (meeting.product.type if meeting.product else None)
        terms = OUTCOME_TERMS[FinancingType(financing_type or "loan")]
        steps = " → ".join(str(step) for step in terms.steps)
        rows.append([number, enterprise.name, enterprise.credit_code, regions[enterprise.region_code],
                     "、".join(node.name_zh for node in enterprise.nodes) or enterprise.chain.name_zh,
                     financing_type_label(financing_type), steps, _wan(need.amount_yuan) if need else None,
                     meeting.institution.name, _("是") if held else _("否"),
                     _wan(intent), _wan(agreed), _wan(funded), _wan(premium),
                     confirmation_label(meeting, confirmed, disputed),
                     _wan(sme_agreed) if sme_agreed and not agreed else None,
                     _wan(sme_funded) if sme_funded and not funded else None, _remark(meeting)])
    totals = [_("合计"), _("%(n)s 场对接，%(e)s 家企业", n=len(rows_in), e=len({r[0].enterprise_id for r in rows_in})),
              "", "", "", "", "", _wan(sum(needs.values())),
              _("%(n)s 家机构", n=len({r[0].institution_id for r in rows_in})),
              _("会谈 %(n)s 场", n=held_count), _wan(totals_yuan["intent"]), _wan(totals_yuan["agreed"]),
              _wan(totals_yuan["funded"]), _wan(totals_yuan["premium"]), "", None, None,
              _("需求金额按不同需求去重合计；企业自报数据不计入合计")]
    workbook = TextOnlyWorkbook()
    sheet = workbook.active
    sheet.title = _("对接成效汇总表")
    title = scope_title(actor, filters)
    _write_sheet(sheet, _("对接成效汇总表 — %(title)s（金额单位：万元）", title=title),
                 [(_("序号"), 6), (_("企业名称"), 30), (_("统一社会信用代码"), 22), (_("地区"), 16),
                  (_("产业链环节"), 22), (_("融资类型"), 10), (_("对接环节"), 22), (_("需求金额(万元)"), 14),
                  (_("对接机构"), 30), (_("是否会谈"), 9), (_("意向金额(万元)"), 14),
                  (_("授信/签约/出单/担保金额(万元)"), 16), (_("放款/资金到位(万元)"), 14), (_("保费(万元)"), 11),
                  (_("数据确认"), 14), (_("企业自报授信/签约(万元，未计入)"), 16),
                  (_("企业自报放款/到位(万元，未计入)"), 16), (_("备注"), 36)],
                 rows, totals, money_columns={8, 11, 12, 13, 14, 16, 17})
    summaries = event_summaries(actor, filters)
    _summary_sheet(workbook.create_sheet(_("活动汇总")), summaries, title)
    _type_sheet(workbook.create_sheet(_("分类型成效")), summaries, title)
    _dispute_sheet(workbook.create_sheet(_("数据异议")), summaries, title)
    return _save(workbook, _("对接成效汇总表_%(stem)s.xlsx", stem=_file_stem(actor, filters)), "outcomes.xlsx")


def _summary_sheet(sheet, summaries, title: str) -> None:
    """One row per event: the figures a tour report states."""
    rows = []
    for s in summaries:
        agreed, funded = s.total("agreed"), s.total("funded")
        rows.append([s.event.title, s.sessions_held.get("online", 0), s.sessions_held.get("offline", 0),
                     s.sessions_held.get("hybrid", 0), s.sessions_planned, s.institutions, s.enterprises,
                     s.needs, _wan(s.needs_yuan), s.meetings, s.meetings_held, s.enterprises_met,
                     s.total("intent").meetings, _wan(s.total("intent").total_yuan),
                     agreed.meetings, _wan(agreed.confirmed_yuan), _wan(agreed.unconfirmed_yuan),
                     funded.meetings, _wan(funded.confirmed_yuan), _wan(funded.unconfirmed_yuan), len(s.disputes)])
    width = 21
    totals = [_("合计")] + [sum(row[i] or 0 for row in rows) for i in range(1, width)] if rows else None
    if totals:
        for index in (8, 13, 15, 16, 18, 19):
            totals[index] = sum((row[index] or 0) for row in rows)
    _write_sheet(sheet, _("活动成效汇总 — %(title)s（金额单位：万元）", title=title),
                 [(_("活动"), 30), (_("线上场次(已举办)"), 10), (_("线下场次(已举办)"), 10),
                  (_("线上+线下场次(已举办)"), 12), (_("计划场次"), 9), (_("参会机构(家)"), 10),
                  (_("参会企业(家)"), 10), (_("融资需求(项)"), 10), (_("需求金额(万元)"), 14),
                  (_("对接(场)"), 9), (_("已会谈(场)"), 9), (_("会谈企业(家)"), 10), (_("达成意向(场)"), 10),
                  (_("意向金额(万元)"), 14), (_("授信/签约(场)"), 10), (_("授信/签约已确认(万元)"), 14),
                  (_("授信/签约待确认(万元)"), 14), (_("放款/到位(场)"), 10), (_("放款/到位已确认(万元)"), 14),
                  (_("放款/到位待确认(万元)"), 14), (_("数据异议(条)"), 10)],
                 rows, totals, money_columns={9, 14, 16, 17, 19, 20})


def _type_sheet(sheet, summaries, title: str) -> None:
    """Per event and financing type, each step in the type's words (保额 and 保费 for insurance)."""
    rows = []
    for s in summaries:
        for t in s.types():
            terms = t.terms
            rows.append([s.event.title, t.label, " → ".join(str(step) for step in terms.steps), t.meetings, t.held,
                         t.intent.meetings, _wan(t.intent.total_yuan), str(terms.agreed_step), t.agreed.meetings,
                         _wan(t.agreed.confirmed_yuan), _wan(t.agreed.unconfirmed_yuan),
                         str(terms.funded_step or "—"), t.funded.meetings if terms.funded_step else None,
                         _wan(t.funded.confirmed_yuan) if terms.funded_step else None,
                         _wan(t.funded.unconfirmed_yuan) if terms.funded_step else None,
                         _wan(t.premium.total_yuan) if terms.premium else None,
                         t.enterprise_only.meetings, _wan(t.enterprise_only.unconfirmed_yuan)])
    _write_sheet(sheet, _("分融资类型成效 — %(title)s（金额单位：万元）", title=title),
                 [(_("活动"), 30), (_("融资类型"), 10), (_("对接环节"), 24), (_("对接(场)"), 9), (_("已会谈(场)"), 9),
                  (_("达成意向(场)"), 10), (_("意向金额(万元)"), 14), (_("签约环节"), 14), (_("场数"), 8),
                  (_("已确认(万元)"), 14), (_("待确认(万元)"), 14), (_("资金环节"), 12), (_("场数"), 8),
                  (_("已确认(万元)"), 14), (_("待确认(万元)"), 14), (_("保费(万元)"), 12),
                  (_("企业自报未确认(场)"), 12), (_("企业自报未确认(万元)"), 14)],
                 rows, None, money_columns={7, 10, 11, 14, 15, 16, 18})


def _dispute_sheet(sheet, summaries, title: str) -> None:
    rows = [[s.event.title, d.session_title, format_shanghai(d.starts_at), d.enterprise_name, d.institution_name,
             financing_type_label(d.financing_type), _wan(d.intent_yuan), _wan(d.agreed_yuan), _wan(d.funded_yuan),
             d.reason] for s in summaries for d in s.disputes]
    _write_sheet(sheet, _("企业对机构填报数据的异议 — %(title)s", title=title),
                 [(_("活动"), 30), (_("场次"), 20), (_("时间"), 17), (_("企业"), 30), (_("机构"), 30),
                  (_("融资类型"), 10), (_("意向(万元)"), 12), (_("授信/签约(万元)"), 14), (_("放款/到位(万元)"), 14),
                  (_("异议说明"), 40)], rows, None, money_columns={7, 8, 9})


def _remark(meeting: Meeting) -> str:
    """The notes of both sides, labelled; "未到场" for a no-show."""
    parts = []
    if meeting.status == MeetingStatus.NO_SHOW:
        parts.append(_("未到场"))
    for outcome in sorted(meeting.outcomes, key=lambda o: o.side != OutcomeSide.INSTITUTION):
        if outcome.note:
            parts.append((_("机构：") if outcome.side == OutcomeSide.INSTITUTION else _("企业：")) + outcome.note)
    return "；".join(parts)
