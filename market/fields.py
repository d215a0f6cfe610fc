"""Form fields for the market's value types (money in 万元, rates in percent, lists of checkboxes) and the
bounded numbers every form of the project uses: nothing a column cannot hold reaches a service.

`BoundedIntegerField` and `BoundedDecimalField` replace WTForms' IntegerField and DecimalField
(tests/security/test_bounds.py fails on a plain one); `column_int` replaces `int` as the `coerce=`
of select fields that carry ids or numbers.
"""
from decimal import Decimal, InvalidOperation

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, IntegerField, SelectMultipleField, widgets
from wtforms.validators import ValidationError

from market.models import MAX_AMOUNT_YUAN

# What an Integer column holds on PostgreSQL (SQLite holds 64 bits; the smaller range decides).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_INT_TEXT_MAX = len(str(INT_MIN))  # longer text is out of range: refused before int() reads it


def column_int(value) -> int:
    """int() for ids and numbers from a request: ValueError unless an integer column holds it."""
    if isinstance(value, str):
        value = value.strip()
        if len(value) > _INT_TEXT_MAX:
            raise ValueError("out of range")
    number = int(value)
    if not INT_MIN <= number <= INT_MAX:
        raise ValueError("out of range")
    return number


def optional_column_int(value) -> int | None:
    """column_int of an optional choice, None when it is blank (Optional() passes "   " on as it is)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return column_int(value)


class BoundedIntegerField(IntegerField):
    """A whole number in [minimum, maximum] (by default what an integer column holds).

    Text that is not a whole number or lies outside the range is refused with one message beside the
    field, `message` or "请输入 … 到 … 之间的整数。"; an empty input is left to the validators
    (InputRequired / Optional), blanks are refused (Optional() still takes them for empty)."""

    def __init__(self, label=None, validators=None, minimum: int = INT_MIN, maximum: int = INT_MAX,
                 message=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = max(int(minimum), INT_MIN), min(int(maximum), INT_MAX)
        self.message = message

    def _refusal(self) -> str:
        return self.message or gettext("请输入 %(low)s 到 %(high)s 之间的整数。", low=self.minimum, high=self.maximum)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = None
        if valuelist[0] in ("", None):
            return
        try:
            number = column_int(valuelist[0])
        except (ValueError, TypeError):
            raise ValueError(self._refusal()) from None
        if not self.minimum <= number <= self.maximum:
            raise ValueError(self._refusal())
        self.data = number


def decimal_shape(value: Decimal) -> tuple[int, int]:
    """(digits before the point, digits after it) of a finite Decimal, trailing zeros not counted.
    Read off the digits, without arithmetic: 1e999999999 costs nothing to judge."""
    _sign, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits)).rstrip("0")
    if not text:
        return 0, 0
    exponent += len(digits) - len(text)
    return max(len(text) + exponent, 0), max(-exponent, 0)


class BoundedDecimalField(DecimalField):
    """A finite decimal number with at most `integer_digits` digits before the point and `decimal_places`
    after it, as a NUMERIC(p, s) column (or the integer it is stored as) would hold it.

    NaN, Infinity and text that is not a number get `invalid_message`; too many digits before the point
    (1e25, 1e999999999), less than `minimum` or more than `maximum` `out_of_range_message`; too many
    after it `too_precise_message`. Exponents are judged by value: 1e3 is 1000. Only a value that passes is in
    `.data`, so the subclasses' range checks and conversions never meet a number they cannot compute with.
    Thousands separators ("1,000", "1，000") are ignored."""

    invalid_message = _l("请输入数字。")

    def __init__(self, label=None, validators=None, *, integer_digits: int, decimal_places: int,
                 minimum: Decimal | int | None = None, maximum: Decimal | int | None = None, invalid_message=None,
                 out_of_range_message=None, too_precise_message=None, **kwargs):
        kwargs.setdefault("places", None)
        super().__init__(label, validators, **kwargs)
        self.integer_digits, self.decimal_places = integer_digits, decimal_places
        self.minimum, self.maximum = minimum, maximum
        self.invalid_message = invalid_message or self.invalid_message
        self.out_of_range_message = out_of_range_message
        self.too_precise_message = too_precise_message

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = None
        text = valuelist[0].strip() if isinstance(valuelist[0], str) else valuelist[0]
        if valuelist[0] in ("", None):
            return  # blanks are refused as not a number (Optional() still takes them for empty)
        try:
            value = Decimal(text.replace(",", "").replace("，", "") if isinstance(text, str) else text)
        except (InvalidOperation, ValueError, TypeError):
            raise ValueError(self.invalid_message) from None
        if not value.is_finite():
            raise ValueError(self.invalid_message)
        before, after = decimal_shape(value)
        if (before > self.integer_digits or (self.minimum is not None and value < self.minimum)
                or (self.maximum is not None and value > self.maximum)):
            raise ValueError(self.out_of_range_message or gettext(
                "数字过大：整数部分最多 %(digits)s 位。", digits=self.integer_digits))
        if after > self.decimal_places:
            raise ValueError(self.too_precise_message or gettext(
                "最多保留 %(places)s 位小数。", places=self.decimal_places))
        self.data = value if value else Decimal(0)  # 0E-999999999 is zero, without the exponent

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return format(Decimal(self.data).normalize(), "f")


class WanYuanField(BoundedDecimalField):
    """Typed in 万元 (e.g. 50 or 12.5), held as integer yuan in `.yuan` (at most MAX_AMOUNT_YUAN)."""

    def __init__(self, label=None, validators=None, allow_zero=False, **kwargs):
        super().__init__(label, validators, integer_digits=len(str(MAX_AMOUNT_YUAN // 10_000)), decimal_places=4,
                         maximum=Decimal(MAX_AMOUNT_YUAN) / 10_000, out_of_range_message=_l("金额过大：不能超过 1000 亿元。"),
                         too_precise_message=_l("金额最多精确到元（万元后四位小数）。"), **kwargs)
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

    def pre_validate(self, form):
        if self.data is None:
            return
        if self.data < 0 or (self.data == 0 and not self.allow_zero):
            raise ValidationError(_l("金额必须大于 0。"))


class PercentField(BoundedDecimalField):
    """Typed in percent (3.85), held as basis points in `.basis_points` (385)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, integer_digits=3, decimal_places=2, maximum=100,
                         out_of_range_message=_l("费率须在 0% 到 100% 之间。"),
                         too_precise_message=_l("费率最多保留两位小数。"), **kwargs)

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
        if self.data is not None and self.data < 0:
            raise ValidationError(_l("费率须在 0% 到 100% 之间。"))


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()
