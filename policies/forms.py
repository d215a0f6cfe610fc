"""Forms of 政策对接. They convert what people type into raw fact values and policy definitions;
the services validate (with `parse_facts` / `parse_policy`) and write. Forms never write.

The facts form is generated from FactSpecs: bool → 是/否 radio, money → 万元, a rate (a decimal
fact whose maximum is ≤ 1) → percent, date → date input, enum → select, list → checkboxes (with
"以上都不是", so that "none" differs from "not answered"), region → text. Numbers go through the
project's bounded fields (money at most 1000 亿元, as the market's amounts; whole numbers what an
integer column holds), so NaN, 1e25 or 30 digits are refused beside the field before the parser.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Mapping

import yaml
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from core.submissions import OneSubmission
from market.fields import INT_MAX, BoundedDecimalField, BoundedIntegerField, MultiCheckboxField
from market.models import MAX_AMOUNT_YUAN
from policies.facts import FactError, FactSpec, FactType
from policies.models import KEY_MAX, TITLE_MAX

REQUIRED = _l("此项必填。")
NONE_OF_THESE = "__none__"
WAN = Decimal(10_000)
MONEY_DECIMAL_PLACES = 6  # 万元 to the fen
RATE_DECIMAL_PLACES = 8  # percent; the fraction keeps ten places
NUMBER_INTEGER_DIGITS = 15  # a decimal fact that is not a rate


# ---- the facts form -------------------------------------------------------------------------------

def is_percent(spec: FactSpec) -> bool:
    return spec.type is FactType.DECIMAL and spec.maximum is not None and spec.maximum <= 1


def fact_label(spec: FactSpec, lang: str) -> str:
    """The fact's label, with the unit the input uses: money in 万元, rates in percent."""
    label = spec.label.get(lang)
    if spec.type is FactType.MONEY:
        if lang == "en":
            return re.sub(r"\(yuan", "(CNY 10,000", re.sub(r", yuan\)", ", CNY 10,000)", label))
        return re.sub(r"([（，；])元([），；])", r"\g<1>万元\g<2>", label)
    if is_percent(spec):
        bare = re.sub(r"\s*[（(][^（()）]*[）)]\s*$", "", label)
        return bare + (" (%)" if lang == "en" else "（%）")
    return label


def _field(spec: FactSpec, lang: str):
    label = fact_label(spec, lang)
    description = spec.help.get(lang) if spec.help else ""
    if spec.type is FactType.BOOL:
        return RadioField(label, choices=[("true", _l("是")), ("false", _l("否"))], validators=[Optional()],
                          validate_choice=False, description=description)
    if spec.type is FactType.ENUM:
        choices = [("", _l("请选择"))] + [(c.value, c.label.get(lang)) for c in spec.choices]
        return SelectField(label, choices=choices, validate_choice=False, description=description)
    if spec.type is FactType.LIST:
        choices = [(c.value, c.label.get(lang)) for c in spec.choices] + [(NONE_OF_THESE, _l("以上都不是"))]
        return MultiCheckboxField(label, choices=choices, validate_choice=False, description=description)
    if spec.type in (FactType.MONEY, FactType.INT, FactType.DECIMAL):
        return _number_field(spec, label, description)
    render = {FactType.DATE: {"type": "date"},
              FactType.REGION: {"inputmode": "numeric", "maxlength": "6"}}.get(spec.type, {})
    return StringField(label, render_kw=render, description=description)


def _number_field(spec: FactSpec, label: str, description: str):
    """A bounded number field; every refusal says what the fact accepts (`fact_error_message`)."""
    refused = fact_error_message(spec)
    messages = {"invalid_message": refused, "out_of_range_message": refused, "too_precise_message": refused}
    if spec.type is FactType.INT:
        high = INT_MAX if spec.maximum is None else spec.maximum
        return BoundedIntegerField(label, minimum=spec.minimum or 0, maximum=high, message=refused,
                                   render_kw={"inputmode": "numeric", "type": "text"}, description=description)
    render = {"inputmode": "decimal", "type": "text"}
    if spec.type is FactType.MONEY:
        high = MAX_AMOUNT_YUAN if spec.maximum is None else min(spec.maximum, MAX_AMOUNT_YUAN)
        if high == MAX_AMOUNT_YUAN:  # negative amounts are the parser's to refuse, with `refused`
            messages["out_of_range_message"] = _l("金额过大：不能超过 1000 亿元。")
        return BoundedDecimalField(label, integer_digits=len(str(MAX_AMOUNT_YUAN // WAN)),
                                   decimal_places=MONEY_DECIMAL_PLACES, maximum=Decimal(high) / WAN,
                                   render_kw=render,
                                   description=description or _l("单位：万元（可填小数，如 12.5）"), **messages)
    if is_percent(spec):
        low = None if spec.minimum is None else spec.minimum * 100
        return BoundedDecimalField(label, integer_digits=3, decimal_places=RATE_DECIMAL_PLACES, minimum=low,
                                   maximum=spec.maximum * 100, render_kw=render,
                                   description=description or _l("单位：%，如 3.5"), **messages)
    return BoundedDecimalField(label, integer_digits=NUMBER_INTEGER_DIGITS, decimal_places=RATE_DECIMAL_PLACES,
                               minimum=spec.minimum, maximum=spec.maximum, render_kw=render, description=description,
                               **messages)


def _shown(spec: FactSpec, value: Any) -> Any:
    """A typed fact value as the input shows it."""
    if value is None:
        return None
    if spec.type is FactType.BOOL:
        return "true" if value else "false"
    if spec.type is FactType.MONEY:
        return format((Decimal(value) / WAN).normalize(), "f")
    if is_percent(spec):
        return format((Decimal(value) * 100).normalize(), "f")
    if spec.type is FactType.DATE:
        return value.isoformat()
    if spec.type is FactType.LIST:
        return sorted(value) or [NONE_OF_THESE]
    return str(value)


def _raw(spec: FactSpec, data: Any) -> Any:
    """What the input holds, as a raw fact value for `parse_facts`; None when left empty.
    Input that cannot be converted is passed on as typed, so that the parser refuses it by name."""
    if spec.type is FactType.LIST:
        values = list(data or [])
        if not values:
            return None
        return [] if NONE_OF_THESE in values else values
    text = (data or "").strip() if isinstance(data, str) else data
    if text in ("", None):
        return None
    if spec.type is FactType.MONEY:
        return Decimal(text) * WAN  # the bounded field let only a finite number through
    if is_percent(spec):
        return Decimal(text) / 100
    return text


class FactsFormBase(FlaskForm):
    specs: dict[str, FactSpec] = {}

    def validate(self, extra_validators=None) -> bool:
        """The fields' own checks, then the fact parser's on every answer they let through, so that all
        refusals show at once (the service parses again before it stores)."""
        valid = super().validate(extra_validators)
        for name, spec in self.specs.items():
            raw = None if self[name].errors else _raw(spec, self[name].data)
            if raw is None:
                continue
            try:
                spec.parse(raw)
            except FactError:
                self[name].errors = list(self[name].errors) + [fact_error_message(spec)]
                valid = False
        return valid

    def answers(self) -> dict[str, Any]:
        """name → raw value or None (no answer / answer cleared), for every fact on the form."""
        return {name: _raw(spec, self[name].data) for name, spec in self.specs.items()}

    def attach(self, errors: Mapping[str, FactError]) -> None:
        for name in errors:
            self[name].errors = list(self[name].errors) + [fact_error_message(self.specs[name])]


def facts_form(specs: list[FactSpec], lang: str, current: Mapping[str, Any], **kwargs) -> FactsFormBase:
    """A form asking exactly `specs`, pre-filled from the typed `current` facts."""
    fields = {spec.name: _field(spec, lang) for spec in specs}
    form_class = type("FactsForm", (FactsFormBase,), {**fields, "specs": {s.name: s for s in specs}})
    data = {spec.name: _shown(spec, current.get(spec.name)) for spec in specs}
    return form_class(data=data, **kwargs)


def fact_error_message(spec: FactSpec) -> str:
    """Why an answer was refused, in the page's language (FactError's own text is for the CLI)."""
    if spec.type is FactType.BOOL:
        return _("请选择“是”或“否”。")
    if spec.type is FactType.MONEY:
        return _("请输入不小于 0 的金额（万元），最多精确到分。")
    if spec.type is FactType.INT:  # the form's field holds at most what an integer column holds
        low = spec.minimum if spec.minimum is not None else 0
        return _("请输入 %(low)s 到 %(high)s 之间的整数。", low=low, high=INT_MAX if spec.maximum is None else spec.maximum)
    if is_percent(spec):
        low, high = ((Decimal(bound or 0) * 100).normalize() for bound in (spec.minimum, spec.maximum))
        return _("请输入 %(low)s 到 %(high)s 之间的百分数，如 3.5。", low=format(low, "f"), high=format(high, "f"))
    if spec.type is FactType.DECIMAL:
        return _("请输入数字。")
    if spec.type is FactType.DATE:
        return _("请输入有效的日期（年-月-日）。")
    if spec.type in (FactType.ENUM, FactType.LIST):
        return _("请从列出的选项中选择。")
    return _("请输入六位行政区划代码，如 330106。")


# ---- organisers: add and edit a policy ----------------------------------------------------------------

FORM_KEYS = ("id", "source", "title", "summary", "clause", "clause_text", "issuer", "responsible_unit",
             "contact", "valid_from", "valid_until", "chains", "regions", "window")
RULE_KEYS = ("facts", "optional_facts", "conditions", "prerequisites", "benefit", "exclusive_group",
             "materials", "notes", "related_texts")
RULE_EXAMPLE = """facts: [compute_contract_fee]
conditions: {fact: compute_contract_fee, op: ">", value: 0, label: {zh: 有算力合同费用, en: Has compute fees}}
benefit:
  kind: up_to
  max: 500000
  period: per_year
  description: {zh: 每年不超过50万元, en: Up to CNY 500,000 a year}
materials:
  - {zh: 算力合同, en: Compute contract}"""


def _pair(zh: str, en: str) -> dict | None:
    zh, en = (zh or "").strip(), (en or "").strip()
    return {"zh": zh, "en": en} if zh or en else None


class PolicyForm(FlaskForm):
    key = StringField(_l("政策编号"), validators=[DataRequired(REQUIRED), Length(max=KEY_MAX), Regexp(
        r"^[a-z][a-z0-9_]*$", message=_l("只能用小写字母、数字和下划线，以字母开头。"))],
        description=_l("如 compute_voucher；保存后不可更改"))
    source = SelectField(_l("来源文件"), validators=[DataRequired(REQUIRED)])
    title_zh = StringField(_l("标题（中文）"), validators=[DataRequired(REQUIRED), Length(max=TITLE_MAX)])
    title_en = StringField(_l("标题（英文）"), validators=[DataRequired(REQUIRED), Length(max=TITLE_MAX)])
    summary_zh = StringField(_l("摘要（中文）"), validators=[DataRequired(REQUIRED), Length(max=500)])
    summary_en = StringField(_l("摘要（英文）"), validators=[DataRequired(REQUIRED), Length(max=500)])
    clause_zh = StringField(_l("条款（中文）"), validators=[DataRequired(REQUIRED), Length(max=KEY_MAX)],
                            description=_l("如 第(三)条"))
    clause_en = StringField(_l("条款（英文）"), validators=[DataRequired(REQUIRED), Length(max=KEY_MAX)],
                            description=_l("如 Art. (3)"))
    clause_text = TextAreaField(_l("条款原文"), validators=[DataRequired(REQUIRED), Length(max=20_000)],
                                render_kw={"rows": 6},
                                description=_l("照录来源文件原文，页面上的金额都链接到这里"))
    issuer_zh = StringField(_l("发文机关（中文）"), validators=[Optional(), Length(max=TITLE_MAX)],
                            description=_l("不填则用来源文件的发文机关"))
    issuer_en = StringField(_l("发文机关（英文）"), validators=[Optional(), Length(max=TITLE_MAX)])
    responsible_unit_zh = StringField(_l("责任单位（中文）"), validators=[DataRequired(REQUIRED), Length(max=TITLE_MAX)])
    responsible_unit_en = StringField(_l("责任单位（英文）"), validators=[DataRequired(REQUIRED), Length(max=TITLE_MAX)])
    contact = StringField(_l("联系电话"), validators=[Optional(), Length(max=100)])
    valid_from = DateField(_l("有效期起"), validators=[Optional()])
    valid_until = DateField(_l("有效期至"), validators=[Optional()])
    chains = MultiCheckboxField(_l("相关产业链"), description=_l("不选表示不限产业链（仅用于政策对接时筛选，不是申报条件）"))
    regions = StringField(_l("适用地区代码"), validators=[DataRequired(REQUIRED)],
                          description=_l("六位行政区划代码，多个用逗号或空格分隔，如 330100"))
    enterprise_deadline = DateField(_l("企业申报截止日"), validators=[Optional()])
    district_deadline = DateField(_l("各地经信部门报送截止日"), validators=[Optional()])
    rule = TextAreaField(_l("规则（YAML 或 JSON）"), validators=[DataRequired(REQUIRED), Length(max=50_000)],
                         render_kw={"rows": 18, "class": "mono", "spellcheck": "false"},
                         description=_l("申报条件、金额公式和申报材料；写法见 docs/policy-facts.md，只能使用已登记的事实名称"))

    def __init__(self, *args, sources: Mapping[str, str], chains: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.source.choices = list(sources.items())
        self.chains.choices = chains

    def _both(self, zh_field, en_field) -> None:
        if bool((zh_field.data or "").strip()) != bool((en_field.data or "").strip()):
            empty = en_field if (zh_field.data or "").strip() else zh_field
            empty.errors = list(empty.errors) + [_("请同时填写中文和英文。")]

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self._both(self.issuer_zh, self.issuer_en)
        return ok and not self.issuer_zh.errors and not self.issuer_en.errors

    def validate_regions(self, field) -> None:
        codes = self.region_codes()
        if not codes or any(not re.fullmatch(r"[1-9]\d{5}", code) for code in codes):
            raise ValidationError(_l("请填写六位行政区划代码，如 330100。"))

    def validate_chains(self, field) -> None:
        known = {code for code, _label in self.chains.choices}
        if any(code not in known for code in field.data or []):
            raise ValidationError(_l("未知的产业链。"))

    def validate_rule(self, field) -> None:
        try:
            events = yaml.parse(field.data or "", Loader=yaml.SafeLoader)
            if any(isinstance(event, yaml.AliasEvent) for event in events):  # no alias bombs
                raise ValidationError(_l("规则中不能使用 YAML 锚点和别名（&、*），请直接写出内容。"))
            data = yaml.safe_load(field.data or "")
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = _("第 %(line)s 行", line=mark.line + 1) if mark else ""
            raise ValidationError(_("YAML 格式错误%(where)s：%(problem)s", where=f"（{where}）" if where else "",
                                    problem=getattr(error, "problem", None) or str(error))) from None
        if not isinstance(data, dict):
            raise ValidationError(_l("规则须是一个映射（键: 值），如 facts、conditions、benefit、materials。"))
        unknown = sorted(set(map(str, data)) - set(RULE_KEYS))
        if unknown:
            raise ValidationError(_("规则中不能有这些键：%(keys)s（可用：%(allowed)s）",
                                    keys=", ".join(unknown), allowed=", ".join(RULE_KEYS)))

    def region_codes(self) -> list[str]:
        return [code for code in re.split(r"[\s,，、;；]+", self.regions.data or "") if code]

    def definition(self, existing: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The policy mapping (as in seeds/policies.yaml) from the fields and the rule text."""
        existing = existing or {}
        out: dict[str, Any] = {"id": existing.get("id") or self.key.data.strip(), "source": self.source.data}
        for name in ("title", "summary", "clause", "issuer", "responsible_unit"):
            pair = _pair(self[f"{name}_zh"].data, self[f"{name}_en"].data)
            if pair:
                out[name] = pair
        out["clause_text"] = (self.clause_text.data or "").strip().replace("\r\n", "\n")
        if (self.contact.data or "").strip():
            out["contact"] = self.contact.data.strip()
        out["valid_from"] = self.valid_from.data.isoformat() if self.valid_from.data else None
        out["valid_until"] = self.valid_until.data.isoformat() if self.valid_until.data else None
        out["chains"] = list(self.chains.data or [])
        out["regions"] = self.region_codes()
        if self.enterprise_deadline.data or self.district_deadline.data:
            window = {"enterprise_deadline": _iso(self.enterprise_deadline.data),
                      "district_deadline": _iso(self.district_deadline.data)}
            cite = (existing.get("window") or {}).get("cite")
            if cite:
                window["cite"] = cite
            out["window"] = window
        out.update(yaml.safe_load(self.rule.data))
        return out

    def fill_from(self, definition: Mapping[str, Any]) -> None:
        """Show a stored definition: the form's keys in the fields, everything else as the rule text."""
        self.key.data = definition.get("id")
        self.source.data = definition.get("source")
        for name in ("title", "summary", "clause", "issuer", "responsible_unit"):
            pair = definition.get(name) or {}
            self[f"{name}_zh"].data, self[f"{name}_en"].data = pair.get("zh", ""), pair.get("en", "")
        self.clause_text.data = definition.get("clause_text", "")
        self.contact.data = definition.get("contact") or ""
        self.valid_from.data = _date(definition.get("valid_from"))
        self.valid_until.data = _date(definition.get("valid_until"))
        self.chains.data = list(definition.get("chains") or [])
        self.regions.data = ", ".join(str(code) for code in definition.get("regions") or [])
        window = definition.get("window") or {}
        self.enterprise_deadline.data = _date(window.get("enterprise_deadline"))
        self.district_deadline.data = _date(window.get("district_deadline"))
        rule = {key: definition[key] for key in RULE_KEYS if key in definition}
        self.rule.data = yaml.dump(rule, Dumper=_PlainDumper, allow_unicode=True, sort_keys=False, width=100)


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated values out in full: the editor refuses anchors and aliases."""

    def ignore_aliases(self, data) -> bool:
        return True


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


class NewPolicyForm(OneSubmission, PolicyForm):
    """Adding a policy: once per rendering of the page."""
