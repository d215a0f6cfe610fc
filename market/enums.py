"""The fixed vocabularies of the market, each value with a display label (zh source, en catalogue)."""
from flask_babel import lazy_gettext as _l

from core.enums import LabelledEnum


class FinancingType(LabelledEnum):
    EQUITY = "equity"
    LOAN = "loan"
    INSURANCE = "insurance"
    GUARANTEE = "guarantee"

    @classmethod
    def _labels(cls):
        return {cls.EQUITY: _l("股权融资"), cls.LOAN: _l("信贷"), cls.INSURANCE: _l("保险"), cls.GUARANTEE: _l("融资担保")}


class Stage(LabelledEnum):
    SEED = "seed"
    STARTUP = "startup"
    GROWTH = "growth"
    EXPANSION = "expansion"
    MATURE = "mature"

    @classmethod
    def _labels(cls):
        return {cls.SEED: _l("种子期"), cls.STARTUP: _l("初创期"), cls.GROWTH: _l("成长期"),
                cls.EXPANSION: _l("扩张期"), cls.MATURE: _l("成熟期")}


class Tier(LabelledEnum):
    INNOVATIVE_SME = "innovative_sme"
    PROVINCIAL_SPECIALISED = "provincial_specialised"
    LITTLE_GIANT = "little_giant"
    SINGLE_CHAMPION = "single_champion"
    PROVINCIAL_HIDDEN_CHAMPION = "provincial_hidden_champion"
    HIGH_TECH = "high_tech"
    TECH_SME = "tech_sme"

    @classmethod
    def _labels(cls):
        return {cls.INNOVATIVE_SME: _l("创新型中小企业"), cls.PROVINCIAL_SPECIALISED: _l("专精特新中小企业"),
                cls.LITTLE_GIANT: _l("专精特新“小巨人”"), cls.SINGLE_CHAMPION: _l("制造业单项冠军"),
                cls.PROVINCIAL_HIDDEN_CHAMPION: _l("省隐形冠军"), cls.HIGH_TECH: _l("高新技术企业"),
                cls.TECH_SME: _l("科技型中小企业")}


class Industry(LabelledEnum):
    """Industries of the 2011 SME classification rules (工信部联企业〔2011〕300号)."""

    AGRICULTURE = "agriculture"
    MANUFACTURING = "manufacturing"
    CONSTRUCTION = "construction"
    WHOLESALE = "wholesale"
    RETAIL = "retail"
    TRANSPORT = "transport"
    WAREHOUSING = "warehousing"
    POSTAL = "postal"
    ACCOMMODATION = "accommodation"
    CATERING = "catering"
    TELECOM = "telecom"
    SOFTWARE_IT = "software_it"
    REAL_ESTATE = "real_estate"
    PROPERTY_MANAGEMENT = "property_management"
    LEASING_BUSINESS = "leasing_business"
    OTHER = "other"

    @classmethod
    def _labels(cls):
        return {cls.AGRICULTURE: _l("农、林、牧、渔业"), cls.MANUFACTURING: _l("工业"),
                cls.CONSTRUCTION: _l("建筑业"), cls.WHOLESALE: _l("批发业"), cls.RETAIL: _l("零售业"),
                cls.TRANSPORT: _l("交通运输业"), cls.WAREHOUSING: _l("仓储业"), cls.POSTAL: _l("邮政业"),
                cls.ACCOMMODATION: _l("住宿业"), cls.CATERING: _l("餐饮业"), cls.TELECOM: _l("信息传输业"),
                cls.SOFTWARE_IT: _l("软件和信息技术服务业"), cls.REAL_ESTATE: _l("房地产开发经营"),
                cls.PROPERTY_MANAGEMENT: _l("物业管理"), cls.LEASING_BUSINESS: _l("租赁和商务服务业"),
                cls.OTHER: _l("其他未列明行业")}


class SizeClass(LabelledEnum):
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"

    @classmethod
    def _labels(cls):
        return {cls.MICRO: _l("微型"), cls.SMALL: _l("小型"), cls.MEDIUM: _l("中型"), cls.LARGE: _l("大型（非中小企业）")}


class Collateral(LabelledEnum):
    CREDIT = "credit"
    REAL_ESTATE = "real_estate"
    EQUIPMENT = "equipment"
    IP = "ip"
    RECEIVABLES = "receivables"
    EQUITY_PLEDGE = "equity_pledge"
    GUARANTEE = "guarantee"

    @classmethod
    def _labels(cls):
        return {cls.CREDIT: _l("信用（无抵押）"), cls.REAL_ESTATE: _l("不动产抵押"), cls.EQUIPMENT: _l("设备抵押"),
                cls.IP: _l("知识产权质押"), cls.RECEIVABLES: _l("应收账款质押"), cls.EQUITY_PLEDGE: _l("股权质押"),
                cls.GUARANTEE: _l("第三方保证/担保")}


class NeedStatus(LabelledEnum):
    """A need moves forward along the funnel, or is withdrawn."""

    OPEN = "open"
    MATCHED = "matched"
    MET = "met"
    INTENT = "intent"
    CREDIT_GRANTED = "credit_granted"
    DISBURSED = "disbursed"
    WITHDRAWN = "withdrawn"

    @classmethod
    def _labels(cls):
        return {cls.OPEN: _l("待对接"), cls.MATCHED: _l("已匹配"), cls.MET: _l("已会谈"), cls.INTENT: _l("达成意向"),
                cls.CREDIT_GRANTED: _l("已授信"), cls.DISBURSED: _l("已放款"), cls.WITHDRAWN: _l("已撤回")}

    @property
    def funnel_rank(self) -> int:
        return FUNNEL_ORDER.index(self) if self in FUNNEL_ORDER else -1

    def label_for(self, financing_type: str | None) -> str:
        """The label in the words of the need's type: 已授信 is 已签署投资协议 for equity, 已出单 for insurance …"""
        words = {
            (NeedStatus.CREDIT_GRANTED, FinancingType.EQUITY): _l("已签署投资协议"),
            (NeedStatus.DISBURSED, FinancingType.EQUITY): _l("资金已到位"),
            (NeedStatus.CREDIT_GRANTED, FinancingType.INSURANCE): _l("已出单"),
            (NeedStatus.CREDIT_GRANTED, FinancingType.GUARANTEE): _l("已出具担保函"),
        }
        return str(words.get((self, financing_type), self.label))


FUNNEL_ORDER = [NeedStatus.OPEN, NeedStatus.MATCHED, NeedStatus.MET, NeedStatus.INTENT,
                NeedStatus.CREDIT_GRANTED, NeedStatus.DISBURSED]


class InstitutionKind(LabelledEnum):
    BANK = "bank"
    INSURER = "insurer"
    INVESTOR = "investor"
    GUARANTOR = "guarantor"
    OTHER = "other"

    @classmethod
    def _labels(cls):
        return {cls.BANK: _l("银行"), cls.INSURER: _l("保险机构"), cls.INVESTOR: _l("投资机构"),
                cls.GUARANTOR: _l("融资担保机构"), cls.OTHER: _l("其他")}


class InstitutionStatus(LabelledEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    @classmethod
    def _labels(cls):
        return {cls.PENDING: _l("待审核"), cls.APPROVED: _l("已通过"), cls.REJECTED: _l("未通过")}


class ProductStatus(LabelledEnum):
    ACTIVE = "active"
    RETIRED = "retired"

    @classmethod
    def _labels(cls):
        return {cls.ACTIVE: _l("在售"), cls.RETIRED: _l("已下架")}


class RegionLevel(LabelledEnum):
    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"

    @classmethod
    def _labels(cls):
        return {cls.PROVINCE: _l("省级"), cls.CITY: _l("地市级"), cls.DISTRICT: _l("区县级")}
