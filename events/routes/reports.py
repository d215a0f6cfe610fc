"""The organiser's dashboard, the Excel exports (汇总表) and each event's printable summary."""
from flask import Blueprint, Response, abort, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from accounts import audit
from core.access import role_required
from core.clock import utcnow
from core.extensions import db
from core.roles import Role
from events.forms.reports import ReportFilterForm
from events.services import exports, reports
from events.services.event_summary import event_summaries

bp = Blueprint("reports", __name__, url_prefix="/reports")

ORGANISERS = (Role.ORGANISER, Role.ADMIN)


def _read_filter() -> ReportFilterForm:
    return ReportFilterForm(current_user, formdata=request.args)


@bp.get("/")
@role_required(*ORGANISERS)
def dashboard():
    form = _read_filter()
    report = chart_data = None
    if form.validate():
        report = reports.build_report(current_user, form.filters(), region_level=form.level.data or None,
                                      locale=str(get_locale() or "zh"))
        chart_data = chart_data_of(report)  # embedded with |tojson, which escapes <, > and &
    query = {key: value for key, value in request.args.items() if value and key != "level"}
    return render_template("events/reports/dashboard.html", form=form, report=report, chart_data=chart_data,
                           query=query, stages=reports.STAGES, stage_labels=reports.STAGE_LABELS,
                           dimension_labels=reports.DIMENSION_LABELS, outcome_rule=reports.OUTCOME_RULE)


def _download(make) -> Response:
    form = _read_filter()
    if not form.validate():
        abort(400)
    download = make(current_user, form.filters())
    audit.record(audit.AuditKind.EXPORT_DOWNLOADED, current_user, detail=request.full_path)
    db.session.commit()
    response = Response(download.content, mimetype=exports.XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = download.content_disposition
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/export/registrations.xlsx")
@role_required(*ORGANISERS)
def export_registrations():
    return _download(exports.registrations_workbook)


@bp.get("/export/schedule.xlsx")
@role_required(*ORGANISERS)
def export_schedule():
    return _download(exports.schedule_workbook)


@bp.get("/export/outcomes.xlsx")
@role_required(*ORGANISERS)
def export_outcomes():
    return _download(exports.outcomes_workbook)


# ---- what the charts draw -------------------------------------------------------------------------

def chart_data_of(report: reports.Report) -> dict:
    """The JSON embedded in the page for static/js/report-charts.js (labels already translated; amounts in 万元)."""
    def wan(yuan: int) -> float:
        return round(yuan / 10_000, 2)

    return {
        "funnel": [{"stage": f.stage, "name": f.label, "enterprises": f.enterprises, "needs": f.needs,
                    "amount_wan": wan(f.amount_yuan)} for f in report.funnel],
        "breakdowns": {
            dimension: {"title": str(reports.DIMENSION_LABELS[dimension]),
                        "categories": [row.label for row in rows],
                        "series": [{"stage": stage, "name": str(reports.STAGE_LABELS[stage]),
                                    "enterprises": [row.stages[stage].enterprises for row in rows],
                                    "amount_wan": [wan(row.stages[stage].amount_yuan) for row in rows]}
                                   for stage in reports.STAGES]}
            for dimension, rows in report.breakdowns.items()},
        "responses": {"institutions": [row.name for row in report.responses],
                      "median_days": [row.median_days for row in report.responses],
                      "overdue": [row.overdue for row in report.responses]},
        "labels": {"enterprises": str(_l("企业数（家）")), "amount": str(_l("金额（万元）")),
                   "unit_enterprises": str(_l(" 家")), "unit_amount": str(_l(" 万元")),
                   "median_days": str(_l("中位用时（工作日）")), "overdue": str(_l("逾期（件）"))},
    }


# ---- one event's summary, printable ---------------------------------------------------------------

@bp.get("/events/<int:event_id>/summary")
@role_required(*ORGANISERS)
def event_summary(event_id: int):
    """The tour report's figures for one event, and the SMEs' disputes of institutions' figures."""
    summary, = event_summaries(current_user, reports.ReportFilter(event_id=event_id)) or abort(404)
    return render_template("events/reports/event_summary.html", summary=summary, now=utcnow())
