"""Forms of the market. They validate and convert; they never write."""
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, SelectMultipleField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from core.errors import FieldError
from core.forms import enum_member
from core.submissions import OneSubmission
from market import services
from market.enums import Collateral, FinancingType, Industry, InstitutionKind, Stage, Tier
from market.fields import BoundedIntegerField, MultiCheckboxField, PercentField, WanYuanField
from market.models import NAME_MAX, TEXT_MAX
from market.sizing import measures_needed

REQUIRED = _l("此项必填。")


def _locale() -> str:
    return str(get_locale() or "zh")


def _check_regions(grouped_choices: dict, chosen: list[str]) -> None:
    codes = {code for group in grouped_choices.values() for code, _ in group}
    for code in chosen:
        if code not in codes:
            raise ValidationError(_("未知的行政区划代码：%(code)s。", code=code))


class EnterpriseForm(FlaskForm):
    credit_code = StringField(_l("统一社会信用代码"), validators=[DataRequired(REQUIRED), Length(max=18 + 4)],
                              description=_l("18 位，见营业执照"))
    name = StringField(_l("企业名称"), validators=[DataRequired(REQUIRED), Length(max=NAME_MAX)])
    region = SelectField(_l("所在地区"), validators=[DataRequired(REQUIRED)], validate_choice=False)
    chain = SelectField(_l("所属产业链"), validators=[DataRequired(REQUIRED)], validate_choice=False)
    nodes = MultiCheckboxField(_l("产业链环节"), validate_choice=False)
    stage = SelectField(_l("发展阶段"), choices=Stage.choices, validators=[DataRequired(REQUIRED)])
    industry = SelectField(_l("所属行业（划型标准）"), choices=Industry.choices, validators=[DataRequired(REQUIRED)])
    employees = BoundedIntegerField(_l("从业人员（人）"), validators=[InputRequired(REQUIRED)], minimum=0,
                                    maximum=1_000_000, message=_l("请输入 0 到 1000000 之间的人数。"))
    revenue = WanYuanField(_l("上年营业收入（万元）"), validators=[InputRequired(REQUIRED)], allow_zero=True)
    total_assets = WanYuanField(_l("资产总额（万元）"), validators=[Optional()], allow_zero=True,
                                description=_l("建筑业、房地产开发经营、租赁和商务服务业划型需要"))
    tiers = MultiCheckboxField(_l("企业梯度（可多选）"), choices=Tier.choices)
    description = TextAreaField(_l("企业简介"), validators=[Optional(), Length(max=TEXT_MAX)])
    contact_name = StringField(_l("联系人"), validators=[Optional(), Length(max=60)])
    contact_phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=30)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        locale = _locale()
        self.region.choices = services.region_choices(locale)
        self.chain.choices = services.chain_choices(locale)
        self.nodes.choices = services.node_choices(locale)

    def validate_credit_code(self, field):
        try:
            field.data = services.check_credit_code(field.data)
        except FieldError as error:
            raise ValidationError(error.message) from None

    def validate_region(self, field):
        _check_regions(field.choices, [field.data])

    def validate_chain(self, field):
        if field.data not in {code for code, _ in self.chain.choices}:
            raise ValidationError(_l("未知的产业链。"))

    def validate_nodes(self, field):
        known = {key for key, _ in self.nodes.choices}
        for key in field.data or []:
            if key not in known:
                raise ValidationError(_l("未知的产业链环节。"))
            if key.partition("/")[0] != self.chain.data:
                raise ValidationError(_l("所选环节不属于所选产业链。"))

    def validate(self, extra_validators=None):
        # Not a validate_total_assets method: the field's Optional() stops the chain on an empty
        # value before inline validators run, so that check never fired.
        valid = super().validate(extra_validators)
        field = self.total_assets
        if (self.industry.data in {i.value for i in Industry} and "assets" in measures_needed(self.industry.data)
                and field.data is None and not field.errors):
            field.errors = list(field.errors) + [_l("该行业按资产总额划型，请填写。")]
            return False
        return valid

    def facts(self) -> services.EnterpriseFacts:
        return services.EnterpriseFacts(
            credit_code=self.credit_code.data, name=self.name.data, region_code=self.region.data,
            chain_code=self.chain.data, node_keys=list(self.nodes.data or []), stage=self.stage.data,
            industry=self.industry.data, employees=self.employees.data, revenue_yuan=self.revenue.yuan,
            total_assets_yuan=self.total_assets.yuan, tiers=list(self.tiers.data or []),
            description=self.description.data or "", contact_name=self.contact_name.data or "",
            contact_phone=self.contact_phone.data or "")

    @classmethod
    def from_enterprise(cls, enterprise, **kwargs):
        form = cls(obj=enterprise, **kwargs)
        if not form.is_submitted():
            form.region.data = enterprise.region_code
            form.chain.data = enterprise.chain.code
            form.nodes.data = [f"{enterprise.chain.code}/{node.code}" for node in enterprise.nodes]
            form.revenue.process_data(enterprise.revenue_yuan)
            form.total_assets.process_data(enterprise.total_assets_yuan)
            form.tiers.data = list(enterprise.tiers)
        return form


class NeedForm(FlaskForm):
    type = SelectField(_l("融资类型"), choices=FinancingType.choices, validators=[DataRequired(REQUIRED)])
    amount = WanYuanField(_l("金额（万元）"), validators=[InputRequired(REQUIRED)])
    term_months = BoundedIntegerField(_l("期限（月）"), validators=[Optional()], minimum=1, maximum=360,
                                      message=_l("期限应在 1 到 360 个月之间。"))
    purpose = TextAreaField(_l("资金用途"), validators=[DataRequired(REQUIRED), Length(max=TEXT_MAX)])
    collateral = MultiCheckboxField(_l("可提供的增信方式"), choices=Collateral.choices)

    def facts(self) -> services.NeedFacts:
        return services.NeedFacts(type=self.type.data, amount_yuan=self.amount.yuan, term_months=self.term_months.data,
                                  purpose=self.purpose.data, collateral=list(self.collateral.data or []))

    @classmethod
    def from_need(cls, need, **kwargs):
        form = cls(obj=need, **kwargs)
        if not form.is_submitted():
            form.amount.process_data(need.amount_yuan)
            form.collateral.data = list(need.collateral)
        return form


class NewNeedForm(OneSubmission, NeedForm):
    """Posting a need: once per rendering of the page."""


class WithdrawForm(FlaskForm):
    reason = StringField(_l("撤回原因"), validators=[Optional(), Length(max=500)])


class InstitutionForm(FlaskForm):
    name = StringField(_l("机构名称"), validators=[DataRequired(REQUIRED), Length(max=NAME_MAX)])
    kind = SelectField(_l("机构类别"), choices=InstitutionKind.choices, validators=[DataRequired(REQUIRED)])
    kind_other = StringField(_l("其他类别名称"), validators=[Optional(), Length(max=60)],
                             description=_l("如：融资租赁、供应链金融、小额贷款"))
    region_codes = SelectMultipleField(_l("服务地区"), validate_choice=False,
                                       description=_l("不选表示全国；选省即含全省，选市即含全市"))
    contact_name = StringField(_l("联系人"), validators=[DataRequired(REQUIRED), Length(max=60)])
    contact_phone = StringField(_l("联系电话"), validators=[DataRequired(REQUIRED), Length(max=30)])
    contact_email = EmailField(_l("联系邮箱"), validators=[Optional(), Email(message=_l("邮箱格式不正确。")),
                                                          Length(max=120)])
    description = TextAreaField(_l("机构简介"), validators=[Optional(), Length(max=TEXT_MAX)])
    website = URLField(_l("网址"), validators=[Optional(), Length(max=200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.region_codes.choices = services.region_choices(_locale())

    def validate_region_codes(self, field):
        _check_regions(field.choices, field.data or [])

    def validate_kind_other(self, field):
        if self.kind.data == InstitutionKind.OTHER and not (field.data or "").strip():
            raise ValidationError(_l("请填写机构类别名称。"))

    def validate_website(self, field):
        # Shown as a link on public pages: only web addresses, never javascript: or data: URLs.
        field.data = (field.data or "").strip()
        if field.data and (not field.data.lower().startswith(("http://", "https://"))
                           or any(char.isspace() for char in field.data)):
            raise ValidationError(_l("网址应以 http:// 或 https:// 开头。"))

    def facts(self) -> services.InstitutionFacts:
        return services.InstitutionFacts(
            name=self.name.data, kind=self.kind.data, kind_other=self.kind_other.data or "",
            region_codes=list(self.region_codes.data or []), contact_name=self.contact_name.data,
            contact_phone=self.contact_phone.data, contact_email=self.contact_email.data or "",
            description=self.description.data or "", website=self.website.data or "")


class ProductForm(FlaskForm):
    name = StringField(_l("产品名称"), validators=[DataRequired(REQUIRED), Length(max=NAME_MAX)])
    type = SelectField(_l("产品类型"), choices=FinancingType.choices, validators=[DataRequired(REQUIRED)])
    description = TextAreaField(_l("产品介绍"), validators=[Optional(), Length(max=TEXT_MAX)])
    amount_min = WanYuanField(_l("最低金额（万元）"), validators=[InputRequired(REQUIRED)])
    amount_max = WanYuanField(_l("最高金额（万元）"), validators=[InputRequired(REQUIRED)])
    rate_min = PercentField(_l("最低年利率/费率（%）"), validators=[Optional()])
    rate_max = PercentField(_l("最高年利率/费率（%）"), validators=[Optional()])
    term_min_months = BoundedIntegerField(_l("最短期限（月）"), validators=[Optional()], minimum=1, maximum=360,
                                          message=_l("期限应在 1 到 360 个月之间。"))
    term_max_months = BoundedIntegerField(_l("最长期限（月）"), validators=[Optional()], minimum=1, maximum=360,
                                          message=_l("期限应在 1 到 360 个月之间。"))
    chains = MultiCheckboxField(_l("面向产业链"), validate_choice=False, description=_l("不选表示不限"))
    region_codes = SelectMultipleField(_l("服务地区"), validate_choice=False, description=_l("不选表示全国"))
    stages = MultiCheckboxField(_l("面向发展阶段"), choices=Stage.choices, description=_l("不选表示不限"))
    tiers = MultiCheckboxField(_l("面向企业梯度"), choices=Tier.choices, description=_l("不选表示不限"))
    collateral = MultiCheckboxField(_l("接受的增信方式"), choices=Collateral.choices)
    is_exclusive = BooleanField(_l("活动专属产品"))
    response_working_days = BoundedIntegerField(_l("承诺响应时间（工作日）"), default=5,
                                                validators=[InputRequired(REQUIRED)], minimum=1, maximum=30,
                                                message=_l("响应时间应在 1 到 30 个工作日之间。"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        locale = _locale()
        self.chains.choices = services.chain_choices(locale)
        self.region_codes.choices = services.region_choices(locale)

    def validate_chains(self, field):
        known = {code for code, _ in field.choices}
        for code in field.data or []:
            if code not in known:
                raise ValidationError(_l("未知的产业链。"))

    def validate_region_codes(self, field):
        _check_regions(field.choices, field.data or [])

    def validate_amount_max(self, field):
        if self.amount_min.data is not None and field.data is not None and field.data < self.amount_min.data:
            raise ValidationError(_l("最高金额不能低于最低金额。"))

    def validate_rate_max(self, field):
        if self.rate_min.data is not None and field.data is not None and field.data < self.rate_min.data:
            raise ValidationError(_l("最高费率不能低于最低费率。"))

    def validate_term_max_months(self, field):
        if self.term_min_months.data is not None and field.data is not None and field.data < self.term_min_months.data:
            raise ValidationError(_l("最长期限不能短于最短期限。"))

    def facts(self) -> services.ProductFacts:
        return services.ProductFacts(
            name=self.name.data, type=self.type.data, description=self.description.data or "",
            amount_min_yuan=self.amount_min.yuan, amount_max_yuan=self.amount_max.yuan,
            rate_min_bp=self.rate_min.basis_points, rate_max_bp=self.rate_max.basis_points,
            term_min_months=self.term_min_months.data, term_max_months=self.term_max_months.data,
            chain_codes=list(self.chains.data or []), region_codes=list(self.region_codes.data or []),
            stages=list(self.stages.data or []), tiers=list(self.tiers.data or []),
            collateral=list(self.collateral.data or []), is_exclusive=bool(self.is_exclusive.data),
            response_working_days=self.response_working_days.data)

    @classmethod
    def from_product(cls, product, **kwargs):
        form = cls(obj=product, **kwargs)
        if not form.is_submitted():
            form.amount_min.process_data(product.amount_min_yuan)
            form.amount_max.process_data(product.amount_max_yuan)
            form.rate_min.process_data(product.rate_min_bp)
            form.rate_max.process_data(product.rate_max_bp)
            form.chains.data = [chain.code for chain in product.chains]
            form.region_codes.data = list(product.region_codes)
            form.stages.data = list(product.stages)
            form.tiers.data = list(product.tiers)
            form.collateral.data = list(product.collateral)
        return form


class NewProductForm(OneSubmission, ProductForm):
    """Publishing a product: once per rendering of the page."""


class CatalogueFilterForm(FlaskForm):
    """The 金融超市 filter: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    type = SelectField(_l("类型"), validators=[Optional()], coerce=enum_member(FinancingType))
    chain = SelectField(_l("产业链"), validators=[Optional()])
    region = SelectField(_l("地区"), validators=[Optional()], validate_choice=False)
    amount = WanYuanField(_l("需要金额（万元）"), validators=[Optional()])
    exclusive = BooleanField(_l("只看活动专属"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        locale = _locale()
        everything = [("", _l("全部"))]
        self.type.choices = everything + FinancingType.choices()
        self.chain.choices = everything + services.chain_choices(locale)
        self.region.choices = {"": everything, **services.region_choices(locale)}

    def validate_region(self, field):
        if field.data:
            _check_regions(field.choices, [field.data])

    def filters(self) -> services.CatalogueFilter:
        return services.CatalogueFilter(type=self.type.data, chain_code=self.chain.data or None,
                                        region_code=self.region.data or None, amount_yuan=self.amount.yuan,
                                        exclusive_only=bool(self.exclusive.data))
