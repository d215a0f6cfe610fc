"""The organiser's forms: year plan, event, session, status, registration decisions, schedule changes.

Times are typed in Asia/Shanghai (datetime-local inputs) and handed to services as naive UTC. The
order rules are the services' own (`event_problems`, `session_problems`), shown beside every field
they concern at once.
"""
from datetime import datetime

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DateTimeLocalField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import URL, DataRequired, InputRequired, Length, Optional, ValidationError

from core.clock import shanghai_wall_to_utc, to_shanghai
from core.roles import Role
from core.submissions import OneSubmission
from events.enums import EventStatus, SessionKind, SessionMode
from events.services import planning, scope
from market import services as market
from market.enums import FinancingType
from market.fields import BoundedIntegerField, MultiCheckboxField, column_int

REQUIRED = _l("此项必填。")
DATETIME_FORMAT = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
BAD_DATETIME = _l("请按“年-月-日 时:分”填写。")
BAD_DATE = _l("请按“年-月-日”填写。")


def LocalDateTimeField(label, **kwargs):  # noqa: N802 - a field factory reads like a field class
    """A datetime-local input in Asia/Shanghai wall-clock time."""
    kwargs.setdefault("description", _l("北京时间"))
    return DateTimeLocalField(label, format=DATETIME_FORMAT, invalid_value_message=BAD_DATETIME, **kwargs)


def LocalDateField(label, **kwargs):  # noqa: N802
    return DateField(label, invalid_value_message=BAD_DATE, **kwargs)


def _locale() -> str:
    return str(get_locale() or "zh")


def local_to_utc(moment: datetime | None) -> datetime | None:
    """A wall-clock time in Asia/Shanghai (as typed) as naive UTC."""
    if moment is None:
        return None
    return shanghai_wall_to_utc(moment)


def utc_to_local(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return to_shanghai(moment).replace(tzinfo=None)


def _attach(form, problems) -> bool:
    """Put each service refusal beside its field; returns whether there were none."""
    for problem in problems:
        field = getattr(form, problem.field, None)
        if field is None:
            form.form_errors.append(problem.message)
        elif problem.message not in field.errors:
            field.errors = list(field.errors) + [problem.message]
    return not problems


def _region_choices(actor) -> dict:
    """Regions the actor covers, grouped by province."""
    groups = {}
    for province, options in market.region_choices(_locale()).items():
        covered = [(code, label) for code, label in options if scope.covers_region(actor, code)]
        if covered:
            groups[province] = covered
    return groups


def _check_choice(field) -> None:
    choices = field.choices.values() if isinstance(field.choices, dict) else [field.choices]
    if field.data not in {code for group in choices for code, _label in group}:
        raise ValidationError(_l("请从列表中选择。"))


class PlanEntryForm(FlaskForm):
    year = BoundedIntegerField(_l("年份"), validators=[InputRequired(REQUIRED)], minimum=2024, maximum=2100,
                               message=_l("年份应在 2024 到 2100 之间。"))
    month = SelectField(_l("月份"), coerce=column_int, choices=[(m, _l("%(m)s 月", m=m)) for m in range(1, 13)])
    chain = SelectField(_l("产业链"), validators=[DataRequired(REQUIRED)], validate_choice=False)
    host_region = SelectField(_l("主办地区"), validators=[DataRequired(REQUIRED)], validate_choice=False)
    office = SelectField(_l("牵头主办单位"), coerce=column_int, validate_choice=False)
    note = StringField(_l("备注"), validators=[Optional(), Length(max=500)])

    def __init__(self, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.chain.choices = market.chain_choices(_locale())
        self.host_region.choices = _region_choices(actor)
        self.office.choices = [(office.id, office.name) for office in scope.offices_for(actor)]
        if actor.role != Role.ADMIN:
            del self.office

    def validate_chain(self, field):
        _check_choice(field)

    def validate_host_region(self, field):
        _check_choice(field)

    def facts(self) -> planning.PlanEntryFacts:
        return planning.PlanEntryFacts(year=self.year.data, month=self.month.data, chain_code=self.chain.data,
                                       host_region_code=self.host_region.data, note=self.note.data or "",
                                       office_id=self.office.data if "office" in self else None)

    def fill_from(self, entry) -> None:
        if not self.is_submitted():
            self.year.data, self.month.data = entry.year, entry.month
            self.chain.data, self.host_region.data = entry.chain.code, entry.host_region_code
            self.note.data = entry.note
            if "office" in self:
                self.office.data = entry.organiser_office_id


class EventForm(FlaskForm):
    title = StringField(_l("活动名称"), validators=[DataRequired(REQUIRED), Length(max=200)],
                        description=_l("例如：2027年3月 · 人工智能产业链 · 杭州"))
    chain = SelectField(_l("产业链"), validators=[DataRequired(REQUIRED)], validate_choice=False)
    host_region = SelectField(_l("主办地区"), validators=[DataRequired(REQUIRED)], validate_choice=False)
    description = TextAreaField(_l("活动简介"), validators=[Optional(), Length(max=5000)])
    starts_on = LocalDateField(_l("开始日期"), validators=[InputRequired(REQUIRED)])
    ends_on = LocalDateField(_l("结束日期"), validators=[InputRequired(REQUIRED)])
    registration_opens_at = LocalDateTimeField(_l("报名开始"), validators=[InputRequired(REQUIRED)])
    registration_closes_at = LocalDateTimeField(_l("报名截止"), validators=[InputRequired(REQUIRED)])
    matching_at = LocalDateTimeField(_l("智能匹配时间"), validators=[Optional()],
                                     description=_l("北京时间；到点自动运行匹配，不得早于报名截止"))
    publication_at = LocalDateTimeField(_l("日程发布时间"), validators=[Optional()],
                                        description=_l("北京时间；不得早于匹配时间"))
    publication_approved = BooleanField(_l("到发布时间自动发布日程（无需再次确认）"))

    def __init__(self, actor, *args, plan_entry=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.chain.choices = market.chain_choices(_locale())
        self.host_region.choices = _region_choices(actor)
        self.plan_entry = plan_entry  # the event's dates are checked against its plan month

    def validate_chain(self, field):
        _check_choice(field)

    def validate_host_region(self, field):
        _check_choice(field)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not valid:
            required = (self.starts_on, self.ends_on, self.registration_opens_at, self.registration_closes_at)
            if any(field.errors for field in required):
                return False
        return _attach(self, planning.event_problems(self.facts(), self.plan_entry)) and valid

    def facts(self) -> planning.EventFacts:
        return planning.EventFacts(
            title=self.title.data or "", chain_code=self.chain.data, host_region_code=self.host_region.data,
            description=self.description.data or "", starts_on=self.starts_on.data, ends_on=self.ends_on.data,
            registration_opens_at=local_to_utc(self.registration_opens_at.data),
            registration_closes_at=local_to_utc(self.registration_closes_at.data),
            matching_at=local_to_utc(self.matching_at.data), publication_at=local_to_utc(self.publication_at.data),
            publication_approved=bool(self.publication_approved.data))

    def fill_from_plan(self, entry) -> None:
        if not self.is_submitted():
            self.title.data = planning.suggested_title(entry)
            self.chain.data, self.host_region.data = entry.chain.code, entry.host_region_code

    def fill_from(self, event) -> None:
        if not self.is_submitted():
            self.title.data, self.description.data = event.title, event.description
            self.chain.data, self.host_region.data = event.chain.code, event.host_region_code
            self.starts_on.data, self.ends_on.data = event.starts_on, event.ends_on
            self.registration_opens_at.data = utc_to_local(event.registration_opens_at)
            self.registration_closes_at.data = utc_to_local(event.registration_closes_at)
            self.matching_at.data = utc_to_local(event.matching_at)
            self.publication_at.data = utc_to_local(event.publication_at)
            self.publication_approved.data = event.publication_approved


class SessionForm(FlaskForm):
    kind = SelectField(_l("活动类型"), choices=SessionKind.choices, validators=[DataRequired(REQUIRED)])
    mode = SelectField(_l("形式"), choices=SessionMode.choices, validators=[DataRequired(REQUIRED)])
    title = StringField(_l("场次名称"), validators=[DataRequired(REQUIRED), Length(max=200)])
    description = TextAreaField(_l("场次介绍"), validators=[Optional(), Length(max=5000)])
    starts_at = LocalDateTimeField(_l("开始时间"), validators=[InputRequired(REQUIRED)])
    ends_at = LocalDateTimeField(_l("结束时间"), validators=[InputRequired(REQUIRED)])
    venue = StringField(_l("举办地点"), validators=[Optional(), Length(max=200)],
                        description=_l("线下、线上+线下场次必填"))
    room = StringField(_l("会议室/展厅"), validators=[Optional(), Length(max=100)])
    online_url = URLField(_l("线上会议室链接"), validators=[Optional(), Length(max=500),
                                                     URL(message=_l("请填写以 http:// 或 https:// 开头的链接。"))],
                          description=_l("线上、线上+线下场次必填"))
    slot_minutes = BoundedIntegerField(_l("每场会谈时长（分钟）"), validators=[Optional()], minimum=5, maximum=240,
                                       message=_l("每场会谈时长应在 5 到 240 分钟之间。"),
                                       description=_l("对接类场次必填，须整除场次时长"))
    tables = BoundedIntegerField(_l("洽谈桌数"), validators=[Optional()], minimum=0, maximum=500,
                                 message=_l("洽谈桌数应在 0 到 500 之间。"), description=_l("对接类场次至少 1 张"))
    table_area = StringField(_l("洽谈区名称"), validators=[Optional(), Length(max=40)],
                             description=_l("线下场次的桌签写作“洽谈区 A 第 07 桌”；留空则为“第 07 桌”"))
    table_digits = BoundedIntegerField(_l("桌号位数"), default=2, validators=[Optional()], minimum=1, maximum=3,
                                       message=_l("桌号位数应在 1 到 3 之间。"), description=_l("2 位：07；3 位：007"))
    capacity = BoundedIntegerField(_l("企业名额"), validators=[Optional()], minimum=1, maximum=100_000,
                                   message=_l("名额须大于 0。"), description=_l("留空表示不限"))
    financing_types = MultiCheckboxField(_l("服务的融资类型"), choices=FinancingType.choices,
                                         description=_l("不选表示不限"))
    speakers = StringField(_l("主讲/嘉宾"), validators=[Optional(), Length(max=500)])
    stream_url = URLField(_l("直播地址"), validators=[Optional(), Length(max=500), URL(
        message=_l("请填写以 http:// 或 https:// 开头的链接。"))])
    replay_url = URLField(_l("回放地址"), validators=[Optional(), Length(max=500), URL(
        message=_l("请填写以 http:// 或 https:// 开头的链接。"))])

    def __init__(self, event, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.starts_at.errors or self.ends_at.errors or self.kind.errors or self.mode.errors:
            return False
        return _attach(self, planning.session_problems(self.event, self.facts())) and valid

    def facts(self) -> planning.SessionFacts:
        return planning.SessionFacts(
            kind=self.kind.data, mode=self.mode.data, title=self.title.data or "",
            starts_at=local_to_utc(self.starts_at.data), ends_at=local_to_utc(self.ends_at.data),
            slot_minutes=self.slot_minutes.data, tables=self.tables.data or 0, capacity=self.capacity.data,
            table_area=self.table_area.data or "", table_digits=self.table_digits.data or 2,
            financing_types=list(self.financing_types.data or []), venue=self.venue.data or "",
            room=self.room.data or "", online_url=self.online_url.data or "",
            description=self.description.data or "", speakers=self.speakers.data or "",
            stream_url=self.stream_url.data or "", replay_url=self.replay_url.data or "")

    def fill_from(self, session) -> None:
        if not self.is_submitted():
            for name in ("kind", "mode", "title", "description", "venue", "room", "online_url", "slot_minutes",
                         "tables", "table_area", "table_digits", "capacity", "speakers", "stream_url", "replay_url"):
                getattr(self, name).data = getattr(session, name)
            self.starts_at.data, self.ends_at.data = utc_to_local(session.starts_at), utc_to_local(session.ends_at)
            self.financing_types.data = list(session.financing_types)


class StatusForm(FlaskForm):
    to_status = SelectField(_l("目标状态"), choices=EventStatus.choices, validators=[DataRequired(REQUIRED)])
    reason = StringField(_l("原因"), validators=[Optional(), Length(max=500)],
                         description=_l("退回到之前的状态时必填"))


class DecisionForm(FlaskForm):
    decision = SelectField(_l("审核"), choices=[("approve", _l("通过")), ("reject", _l("不通过")),
                                              ("waitlist", _l("候补"))], validators=[DataRequired(REQUIRED)])
    reason = StringField(_l("理由"), validators=[Optional(), Length(max=500)],
                         description=_l("不通过时必填；名额未满时列入候补也须填写"))


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (mark ready, take ready back)."""


class MoveMeetingForm(FlaskForm):
    slot = SelectField(_l("时段"), coerce=column_int, validate_choice=False)
    table_number = BoundedIntegerField(_l("机构的第几张桌"), validators=[InputRequired(REQUIRED)], minimum=1,
                                       maximum=50, message=_l("桌号应在 1 到 50 之间。"),
                                       description=_l("场地桌号按机构的桌自动对应"))

    def __init__(self, slot_choices, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.slot.choices = slot_choices


class CancelMeetingForm(FlaskForm):
    reason = StringField(_l("取消原因"), validators=[DataRequired(_l("取消会谈须填写原因。")), Length(max=500)])


class AddMeetingForm(OneSubmission, MoveMeetingForm):
    enterprise = SelectField(_l("企业"), coerce=column_int, validate_choice=False)
    institution = SelectField(_l("金融机构"), coerce=column_int, validate_choice=False)

    def __init__(self, slot_choices, enterprise_choices, institution_choices, *args, **kwargs):
        super().__init__(slot_choices, *args, **kwargs)
        self.enterprise.choices = enterprise_choices
        self.institution.choices = institution_choices


class NewPlanEntryForm(OneSubmission, PlanEntryForm):
    """Adding a month to the year plan: once per rendering of the page."""


class NewEventForm(OneSubmission, EventForm):
    """Creating an event: once per rendering of the page."""


class NewSessionForm(OneSubmission, SessionForm):
    """Adding a session: once per rendering of the page."""
