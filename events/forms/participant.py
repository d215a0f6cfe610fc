"""Forms of the participants' pages: registration, meeting requests, answers, cancelling, outcomes, booking.

Choices that depend on the actor (its needs, its products, the session's slots) are set by the route.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from core.submissions import OneSubmission
from events.services.registration import MAX_TABLES_PER_INSTITUTION, StaffMember
from market.fields import BoundedIntegerField, MultiCheckboxField, WanYuanField, column_int

REQUIRED = _l("此项必填。")
STAFF_ROWS = 3


class EnterpriseRegistrationForm(OneSubmission, FlaskForm):
    needs = MultiCheckboxField(_l("带入本场的融资需求"), coerce=column_int, validate_choice=False)
    consent = BooleanField(_l("我已阅读并同意上述信息共享说明"),
                           validators=[DataRequired(message=_l("请阅读并勾选同意信息共享说明。"))])


class StaffRowForm(Form):
    name = StringField(_l("姓名"), validators=[Optional(), Length(max=60)])
    title = StringField(_l("职务"), validators=[Optional(), Length(max=60)])
    phone = StringField(_l("电话"), validators=[Optional(), Length(max=30)])
    table_number = BoundedIntegerField(_l("桌号"), validators=[Optional()], minimum=1,
                                       maximum=MAX_TABLES_PER_INSTITUTION, message=_l("桌号须在 1 到 50 之间。"))


class InstitutionRegistrationForm(OneSubmission, FlaskForm):
    products = MultiCheckboxField(_l("带入本场的产品"), coerce=column_int, validate_choice=False)
    tables = BoundedIntegerField(_l("对接桌数"), default=1, validators=[Optional()], minimum=1,
                                 maximum=MAX_TABLES_PER_INSTITUTION, message=_l("桌数须在 1 到 50 之间。"))
    staff = FieldList(FormField(StaffRowForm), label=_l("出席人员"), min_entries=STAFF_ROWS, max_entries=10)
    unavailable_slots = MultiCheckboxField(_l("不能参加的时段（可多选）"), coerce=column_int, validate_choice=False)

    def staff_members(self) -> list[StaffMember]:
        return [StaffMember(name=row.form.name.data or "", title=row.form.title.data or "",
                            phone=row.form.phone.data or "", table_number=row.form.table_number.data)
                for row in self.staff]


class MeetingRequestForm(OneSubmission, FlaskForm):
    need_id = SelectField(_l("相关融资需求"), coerce=column_int, validate_choice=False)
    product_id = SelectField(_l("相关产品"), coerce=column_int, validate_choice=False)
    message = TextAreaField(_l("留言"), validators=[Optional(), Length(max=1000)],
                            description=_l("简要说明希望沟通的内容，不超过 1000 字。"))
    consent = BooleanField(_l("我同意向该机构提供本企业信息（见上方说明）"))
    lead_source = HiddenField(default="direct")
    lead_session_id = BoundedIntegerField(widget=HiddenInput(), validators=[Optional()])


class AnswerForm(FlaskForm):
    note = TextAreaField(_l("答复说明（可选）"), validators=[Optional(), Length(max=1000)])
    consent = BooleanField(_l("我同意向该机构提供本企业信息（仅限该机构，可随时撤回）"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("原因"), validators=[DataRequired(REQUIRED), Length(max=500)])


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token."""


class OutcomeForm(OneSubmission, FlaskForm):
    """Both sides' outcome form; `adapt` keeps the fields of the meeting's financing type and of the side."""

    held = RadioField(_l("会谈是否进行"), choices=[("yes", _l("已会谈")), ("no", _l("未会谈（对方或我方未到场）"))],
                      validators=[InputRequired(REQUIRED)])
    intent = WanYuanField(_l("意向金额（万元）"), validators=[Optional()], allow_zero=True)
    agreed = WanYuanField(_l("授信金额（万元）"), validators=[Optional()], allow_zero=True)
    funded = WanYuanField(_l("放款金额（万元）"), validators=[Optional()], allow_zero=True)
    premium = WanYuanField(_l("保费（万元）"), validators=[Optional()], allow_zero=True)
    confirm_above_need = BooleanField(_l("金额超过需求金额，确认无误"))
    verdict = RadioField(_l("对金融机构所填数据"), validators=[Optional()], validate_choice=True,
                         choices=[("", _l("暂不答复")), ("confirmed", _l("确认无误")), ("disputed", _l("有异议"))],
                         default="")
    dispute_reason = TextAreaField(_l("异议说明"), validators=[Optional(), Length(max=500)])
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])

    AMOUNTS = ("intent", "agreed", "funded", "premium")

    def adapt(self, terms, side: str, has_need: bool, institution_recorded: bool) -> None:
        """Labels in the type's words; drop the fields the type, the side or the meeting does not have."""
        for name in self.AMOUNTS:
            label = getattr(terms, name)
            if label is None:
                delattr(self, name)
            else:
                getattr(self, name).label.text = label
        if not has_need:
            delattr(self, "confirm_above_need")
        if side != "enterprise" or not institution_recorded:
            delattr(self, "verdict")
            delattr(self, "dispute_reason")

    def amount(self, name: str) -> int | None:
        field = getattr(self, name, None)
        return None if field is None else field.yuan

    def load(self, outcome) -> None:
        """Fill an unsent form from the side's saved row."""
        if outcome is None or self.is_submitted():
            return
        self.held.data = "yes" if outcome.held else "no"
        for name, column in zip(self.AMOUNTS, ("intent_amount_yuan", "agreed_amount_yuan", "funded_amount_yuan",
                                               "premium_yuan"), strict=True):
            if getattr(self, name) is not None:  # WTForms leaves None behind a removed field
                getattr(self, name).process_data(getattr(outcome, column))
        if self.verdict is not None:
            self.verdict.data = outcome.verdict or ""
            self.dispute_reason.data = outcome.dispute_reason
        self.note.data = outcome.note


class BookingForm(OneSubmission, FlaskForm):
    institution = BoundedIntegerField(validators=[InputRequired(REQUIRED)])
    slot = BoundedIntegerField(validators=[InputRequired(REQUIRED)])
    table = BoundedIntegerField(validators=[InputRequired(REQUIRED)])
