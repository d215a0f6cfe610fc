"""Forms of the online pages: the hall's filter and the lead report's choice of event (GET forms, read only)."""
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Optional, ValidationError

from core.forms import enum_member
from market import services as market
from market.enums import FinancingType
from market.fields import optional_column_int


class HallFilterForm(FlaskForm):
    """Filters of the month's online hall: financing type and the region to be served."""

    class Meta:
        csrf = False

    type = SelectField(_l("融资类型"), validators=[Optional()], coerce=enum_member(FinancingType))
    region = SelectField(_l("服务地区"), validators=[Optional()], validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        everything = [("", _l("全部"))]
        self.type.choices = everything + FinancingType.choices()
        self.region.choices = {"": everything, **market.region_choices(str(get_locale() or "zh"))}

    def validate_region(self, field):
        if field.data and not any(code == field.data for group in field.choices.values() for code, _ in group):
            raise ValidationError(_l("未知的行政区划代码。"))

    @property
    def financing_type(self) -> FinancingType | None:
        return self.type.data

    @property
    def region_code(self) -> str | None:
        return self.region.data or None


class LeadFilterForm(FlaskForm):
    """Which event the lead report covers (an institution may also choose "all")."""

    class Meta:
        csrf = False

    event = SelectField(_l("活动"), validators=[Optional()], validate_choice=False)

    def __init__(self, events, allow_all: bool, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.event.choices = ([("", _l("全部活动"))] if allow_all else []) + [(str(e.id), e.title) for e in events]

    def validate_event(self, field):
        if field.data and field.data not in {value for value, _ in field.choices}:
            raise ValidationError(_l("请选择列表中的活动。"))

    @property
    def event_id(self) -> int | None:
        return optional_column_int(self.event.data)
