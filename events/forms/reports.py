"""The reports' forms: the dashboard's and the exports' filter (a GET form, read only)."""
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Optional, ValidationError

from events.services import reports, scope
from market import services as market
from market.fields import BoundedIntegerField, column_int, optional_column_int

MONTHS = [("", _l("全部"))] + [(str(month), _l("%(month)s月", month=month)) for month in range(1, 13)]


class ReportFilterForm(FlaskForm):
    """The dashboard's filter: a GET form (no CSRF token); it only reads."""

    class Meta:
        csrf = False

    event = SelectField(_l("活动"), validators=[Optional()], validate_choice=False)
    chain = SelectField(_l("产业链"), validators=[Optional()])
    year = BoundedIntegerField(_l("年份"), validators=[Optional()], minimum=2024, maximum=2100,
                               message=_l("请输入 2024 到 2100 之间的年份。"))
    month = SelectField(_l("月份"), choices=MONTHS, validators=[Optional()])
    region = SelectField(_l("企业所在地区"), validators=[Optional()], validate_choice=False)
    level = SelectField(_l("地区分组"), validators=[Optional()],
                        choices=[("", _l("自动")), ("province", _l("按省")), ("city", _l("按市")),
                                 ("district", _l("按区县"))])

    def __init__(self, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "zh")
        everything = [("", _l("全部"))]
        self.visible_events = scope.visible_events(actor)
        self.event.choices = everything + [(str(event.id), event.title) for event in self.visible_events]
        self.chain.choices = everything + [(str(chain.id), chain.name(locale)) for chain in market.chains()]
        self.region.choices = {"": everything, **market.region_choices(locale)}

    def validate_event(self, field):
        try:
            if field.data:
                column_int(field.data)
        except ValueError:
            raise ValidationError(_l("请选择列表中的活动。")) from None

    def validate_region(self, field):
        if field.data and not any(code == field.data for group in field.choices.values() for code, _ in group):
            raise ValidationError(_l("未知的行政区划代码。"))

    def filters(self) -> reports.ReportFilter:
        """Out-of-reach events are answered with 404 by the service (ids of other regions are not confirmed)."""
        return reports.ReportFilter(event_id=optional_column_int(self.event.data),
                                    chain_id=optional_column_int(self.chain.data),
                                    year=self.year.data, month=optional_column_int(self.month.data),
                                    region_code=self.region.data or None)
