"""Tables of the market, with their rules as database constraints."""
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.enums import enum_column
from core.extensions import db
from core.regions import region_covers
from market.enums import (
    Collateral,
    FinancingType,
    Industry,
    InstitutionKind,
    InstitutionStatus,
    NeedStatus,
    ProductStatus,
    RegionLevel,
    Stage,
    Tier,
)
from market.sizing import classify_size

NAME_MAX = 120
TEXT_MAX = 2000
MAX_AMOUNT_YUAN = 100_000_000_000  # 1,000 亿元: anything above is a typo, not a need


class Chain(db.Model):
    """An industrial chain of the tour (一月一链), the root of a tree of nodes."""

    __tablename__ = "chains"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(NAME_MAX))
    name_en: Mapped[str] = mapped_column(String(NAME_MAX))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    nodes: Mapped[list["ChainNode"]] = relationship(back_populates="chain", order_by="ChainNode.sort_order")

    def name(self, locale: str = "zh") -> str:
        return self.name_en if locale == "en" else self.name_zh


class ChainNode(db.Model):
    """A link of a chain (e.g. 人工智能 → 算力 → 液冷服务器)."""

    __tablename__ = "chain_nodes"
    __table_args__ = (UniqueConstraint("chain_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("chain_nodes.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(60))
    name_zh: Mapped[str] = mapped_column(String(NAME_MAX))
    name_en: Mapped[str] = mapped_column(String(NAME_MAX))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    chain: Mapped[Chain] = relationship(back_populates="nodes")
    parent: Mapped["ChainNode | None"] = relationship(remote_side="ChainNode.id", back_populates="children")
    children: Mapped[list["ChainNode"]] = relationship(back_populates="parent", order_by="ChainNode.sort_order")

    def name(self, locale: str = "zh") -> str:
        return self.name_en if locale == "en" else self.name_zh


class Region(db.Model):
    """A GB/T 2260 administrative division: XX0000 province, XXXX00 city, else district."""

    __tablename__ = "regions"
    __table_args__ = (
        CheckConstraint("length(code) = 6", name="code_six_digits"),
    )
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(NAME_MAX))
    name_en: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel, 10, "level_known"))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    parent: Mapped["Region | None"] = relationship(remote_side="Region.code")

    def name(self, locale: str = "zh") -> str:
        return (self.name_en or self.name_zh) if locale == "en" else self.name_zh

    def covers(self, code: str) -> bool:
        return region_covers(self.code, code)


class EnterpriseTier(db.Model):
    __tablename__ = "enterprise_tiers"
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True)
    tier: Mapped[Tier] = mapped_column(enum_column(Tier, 40, "tier_known"), primary_key=True)


class EnterpriseNode(db.Model):
    __tablename__ = "enterprise_nodes"
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("chain_nodes.id", ondelete="CASCADE"), primary_key=True)
    node: Mapped[ChainNode] = relationship()


class Enterprise(db.Model):
    """An SME on a chain. Its size class is derived from the facts, never typed in."""

    __tablename__ = "enterprises"
    __table_args__ = (
        CheckConstraint("length(credit_code) = 18", name="credit_code_length"),
        CheckConstraint("employees >= 0", name="employees_not_negative"),
        CheckConstraint("revenue_yuan >= 0", name="revenue_not_negative"),
        CheckConstraint("total_assets_yuan IS NULL OR total_assets_yuan >= 0", name="assets_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id"), index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage, 20, "stage_known"))
    industry: Mapped[Industry] = mapped_column(enum_column(Industry, 30, "industry_known"))
    employees: Mapped[int] = mapped_column(Integer)
    revenue_yuan: Mapped[int] = mapped_column(BigInteger)
    total_assets_yuan: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(60), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    region: Mapped[Region] = relationship()
    chain: Mapped[Chain] = relationship()
    _tier_rows: Mapped[list[EnterpriseTier]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    tiers: AssociationProxy[list[str]] = association_proxy("_tier_rows", "tier",
                                                           creator=lambda tier: EnterpriseTier(tier=tier))
    _node_rows: Mapped[list[EnterpriseNode]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    nodes: AssociationProxy[list[ChainNode]] = association_proxy("_node_rows", "node",
                                                                 creator=lambda node: EnterpriseNode(node=node))
    needs: Mapped[list["FinancingNeed"]] = relationship(back_populates="enterprise",
                                                        order_by="FinancingNeed.created_at.desc()")

    @property
    def size_class(self):
        return classify_size(self.industry, self.employees, self.revenue_yuan, self.total_assets_yuan)


class NeedCollateral(db.Model):
    __tablename__ = "need_collateral"
    need_id: Mapped[int] = mapped_column(ForeignKey("financing_needs.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[Collateral] = mapped_column(enum_column(Collateral, 30, "kind_known"), primary_key=True)


class FinancingNeed(db.Model):
    """What an SME asks for: equity, a loan, insurance or a guarantee."""

    __tablename__ = "financing_needs"
    __table_args__ = (
        CheckConstraint(f"amount_yuan > 0 AND amount_yuan <= {MAX_AMOUNT_YUAN}", name="amount_in_range"),
        CheckConstraint("term_months IS NULL OR (term_months > 0 AND term_months <= 360)", name="term_in_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    type: Mapped[FinancingType] = mapped_column(enum_column(FinancingType, 20, "type_known"))
    amount_yuan: Mapped[int] = mapped_column(BigInteger)
    term_months: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(TEXT_MAX), default="")
    status: Mapped[NeedStatus] = mapped_column(enum_column(NeedStatus, 20, "status_known"), default=NeedStatus.OPEN)
    withdrawn_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    enterprise: Mapped[Enterprise] = relationship(back_populates="needs")
    _collateral_rows: Mapped[list[NeedCollateral]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    collateral: AssociationProxy[list[str]] = association_proxy("_collateral_rows", "kind",
                                                                creator=lambda kind: NeedCollateral(kind=kind))

    @property
    def is_withdrawn(self) -> bool:
        return self.status == NeedStatus.WITHDRAWN


class InstitutionRegion(db.Model):
    __tablename__ = "institution_regions"
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)


class Institution(db.Model):
    """A bank, insurer, investor, guarantor or another kind its users name."""

    __tablename__ = "institutions"
    __table_args__ = (
        CheckConstraint("kind <> 'other' OR length(kind_other) > 0", name="other_kind_named"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    kind: Mapped[InstitutionKind] = mapped_column(enum_column(InstitutionKind, 20, "kind_known"))
    kind_other: Mapped[str] = mapped_column(String(60), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(60), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    contact_email: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[InstitutionStatus] = mapped_column(enum_column(InstitutionStatus, 20, "status_known"),
                                                      default=InstitutionStatus.PENDING)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    review_note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    _region_rows: Mapped[list[InstitutionRegion]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    region_codes: AssociationProxy[list[str]] = association_proxy(
        "_region_rows", "region_code", creator=lambda code: InstitutionRegion(region_code=code))
    products: Mapped[list["Product"]] = relationship(back_populates="institution", order_by="Product.id")

    @property
    def kind_label(self) -> str:
        return self.kind_other if self.kind == InstitutionKind.OTHER else self.kind.label

    @property
    def is_approved(self) -> bool:
        return self.status == InstitutionStatus.APPROVED


class ProductChain(db.Model):
    __tablename__ = "product_chains"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"), primary_key=True)
    chain: Mapped[Chain] = relationship()


class ProductRegion(db.Model):
    __tablename__ = "product_regions"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)


class ProductStage(db.Model):
    __tablename__ = "product_stages"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage, 20, "stage_known"), primary_key=True)


class ProductTier(db.Model):
    __tablename__ = "product_tiers"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    tier: Mapped[Tier] = mapped_column(enum_column(Tier, 40, "tier_known"), primary_key=True)


class ProductCollateral(db.Model):
    __tablename__ = "product_collateral"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[Collateral] = mapped_column(enum_column(Collateral, 30, "kind_known"), primary_key=True)


class Product(db.Model):
    """A financial product. Rates and fees are annual, in basis points (385 = 3.85%)."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("institution_id", "name"),
        CheckConstraint(f"amount_min_yuan > 0 AND amount_max_yuan <= {MAX_AMOUNT_YUAN}", name="amount_in_range"),
        CheckConstraint("amount_min_yuan <= amount_max_yuan", name="amount_min_le_max"),
        CheckConstraint("rate_min_bp IS NULL OR rate_min_bp >= 0", name="rate_not_negative"),
        CheckConstraint("rate_max_bp IS NULL OR rate_max_bp <= 10000", name="rate_at_most_100pct"),
        CheckConstraint("rate_min_bp IS NULL OR rate_max_bp IS NULL OR rate_min_bp <= rate_max_bp",
                        name="rate_min_le_max"),
        CheckConstraint("term_min_months IS NULL OR term_min_months > 0", name="term_positive"),
        CheckConstraint("term_max_months IS NULL OR term_max_months <= 360", name="term_at_most_30y"),
        CheckConstraint("term_min_months IS NULL OR term_max_months IS NULL OR term_min_months <= term_max_months",
                        name="term_min_le_max"),
        CheckConstraint("response_working_days BETWEEN 1 AND 30", name="response_days_in_range"),
        Index("ix_products_type_status", "type", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    type: Mapped[FinancingType] = mapped_column(enum_column(FinancingType, 20, "type_known"))
    description: Mapped[str] = mapped_column(Text, default="")
    amount_min_yuan: Mapped[int] = mapped_column(BigInteger)
    amount_max_yuan: Mapped[int] = mapped_column(BigInteger)
    rate_min_bp: Mapped[int | None] = mapped_column(Integer)
    rate_max_bp: Mapped[int | None] = mapped_column(Integer)
    term_min_months: Mapped[int | None] = mapped_column(Integer)
    term_max_months: Mapped[int | None] = mapped_column(Integer)
    is_exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    response_working_days: Mapped[int] = mapped_column(Integer, default=5)
    status: Mapped[ProductStatus] = mapped_column(enum_column(ProductStatus, 20, "status_known"),
                                                  default=ProductStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    institution: Mapped[Institution] = relationship(back_populates="products")
    _chain_rows: Mapped[list[ProductChain]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    chains: AssociationProxy[list[Chain]] = association_proxy("_chain_rows", "chain",
                                                              creator=lambda chain: ProductChain(chain=chain))
    _region_rows: Mapped[list[ProductRegion]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    region_codes: AssociationProxy[list[str]] = association_proxy(
        "_region_rows", "region_code", creator=lambda code: ProductRegion(region_code=code))
    _stage_rows: Mapped[list[ProductStage]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    stages: AssociationProxy[list[str]] = association_proxy("_stage_rows", "stage",
                                                            creator=lambda stage: ProductStage(stage=stage))
    _tier_rows: Mapped[list[ProductTier]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    tiers: AssociationProxy[list[str]] = association_proxy("_tier_rows", "tier",
                                                           creator=lambda tier: ProductTier(tier=tier))
    _collateral_rows: Mapped[list[ProductCollateral]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    collateral: AssociationProxy[list[str]] = association_proxy("_collateral_rows", "kind",
                                                                creator=lambda kind: ProductCollateral(kind=kind))

    @property
    def is_active(self) -> bool:
        return self.status == ProductStatus.ACTIVE
