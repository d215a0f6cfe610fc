"""Form fields for the market's value types: money in 万元, rates in percent, lists of checkboxes."""
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, SelectMultipleField, widgets
from wtforms.validators import ValidationError

from market.models import MAX_AMOUNT_YUAN


class WanYuanField(DecimalField):
    """Typed in 万元 (e.g. 50 or 12.5), held as integer yuan in `.yuan`."""

    def __init__(self, label=None, validators=None, allow_zero=False, **kwargs):
        kwargs.setdefault("places", None)
        super().__init__(label, validators, **kwargs)
        self.allow_zero = allow_zero

    @property
    def yuan(self) -> int | None:
        if self.data is None:
            return None
        return int((self.data * 10_000).to_integral_value())

    def process_data(self, value):
        # Populated from the model in yuan; shown in 万元.
        if isinstance(value, int) and not isinstance(value, bool):
            value = (Decimal(value) / 10_000).normalize()
        super().process_data(value)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        text = format(self.data.normalize(), "f")
        return text

    def pre_validate(self, form):
        if self.data is None:
            return
        if self.data < 0 or (self.data == 0 and not self.allow_zero):
            raise ValidationError(_l("金额必须大于 0。"))
        if self.data * 10_000 > MAX_AMOUNT_YUAN:
            raise ValidationError(_l("金额过大：不能超过 1000 亿元。"))
        if self.data.as_tuple().exponent < -4:
            raise ValidationError(_l("金额最多精确到元（万元后四位小数）。"))


class PercentField(DecimalField):
    """Typed in percent (3.85), held as basis points in `.basis_points` (385)."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("places", None)
        super().__init__(label, validators, **kwargs)

    @property
    def basis_points(self) -> int | None:
        if self.data is None:
            return None
        return int((self.data * 100).to_integral_value())

    def process_data(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            value = (Decimal(value) / 100).normalize()
        super().process_data(value)

    def pre_validate(self, form):
        if self.data is None:
            return
        try:
            if self.data < 0 or self.data > 100:
                raise ValidationError(_l("费率须在 0% 到 100% 之间。"))
        except InvalidOperation:
            raise ValidationError(_l("请输入数字。")) from None
        if self.data.as_tuple().exponent < -2:
            raise ValidationError(_l("费率最多保留两位小数。"))


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()
