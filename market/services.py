"""The market's verbs. They take the acting user, change data, flush, and never commit."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from core.access import require_owner
from core.clock import utcnow
from core.errors import FieldError, Forbidden, NotFound
from core.extensions import db
from core.regions import region_prefix
from core.roles import Role
from market import signals
from market.credit_code import CreditCodeError, normalise_credit_code
from market.enums import FinancingType, InstitutionKind, InstitutionStatus, NeedStatus, ProductStatus, RegionLevel
from market.models import (
    Chain,
    ChainNode,
    Enterprise,
    FinancingNeed,
    Institution,
    InstitutionRegion,
    Product,
    ProductChain,
    ProductRegion,
    Region,
)

CREDIT_CODE_MESSAGES = {
    "length": _l("统一社会信用代码应为 18 位。"),
    "charset": _l("统一社会信用代码只含数字和大写字母，且不含 I、O、S、V、Z。"),
    "authority": _l("统一社会信用代码的登记管理部门或机构类别代码（前两位）无效。"),
    "check": _l("统一社会信用代码校验位不正确，请核对营业执照。"),
}

def check_credit_code(raw: str) -> str:
    try:
        return normalise_credit_code(raw)
    except CreditCodeError as error:
        raise FieldError("credit_code", CREDIT_CODE_MESSAGES[error.reason]) from None

# ---- reference data -------------------------------------------------------------------------

def region_choices(locale: str = "zh") -> dict[str, list[tuple[str, str]]]:
    """Regions grouped by province, for a <select> with optgroups."""
    regions = db.session.scalars(select(Region).order_by(Region.code)).all()
    groups: dict[str, list[tuple[str, str]]] = {}
    provinces = {r.code: r.name(locale) for r in regions if r.level == RegionLevel.PROVINCE}
    for region in regions:
        province_name = provinces.get(region.code[:2] + "0000", region.code[:2])
        indent = {"province": "", "city": "· ", "district": "· · "}[region.level]
        groups.setdefault(province_name, []).append((region.code, indent + region.name(locale)))
    return groups

def chain_choices(locale: str = "zh") -> list[tuple[str, str]]:
    chains = db.session.scalars(select(Chain).order_by(Chain.sort_order, Chain.id)).all()
    return [(chain.code, chain.name(locale)) for chain in chains]

def node_choices(locale: str = "zh") -> list[tuple[str, str]]:
    """Every chain node as "chain/node-code", labelled with its path."""
    nodes = db.session.scalars(select(ChainNode).join(Chain).order_by(Chain.sort_order, Chain.id,
                                                                       ChainNode.sort_order, ChainNode.id)).all()
    by_id = {node.id: node for node in nodes}
    chain_rank: dict[int, int] = {}
    for node in nodes:
        chain_rank.setdefault(node.chain_id, len(chain_rank))

    def tree_position(node):
        # Depth-first: a node right after its parent (sort_order only orders siblings).
        key, cursor = [], node
        while cursor is not None:
            key.append((cursor.sort_order, cursor.id))
            cursor = by_id.get(cursor.parent_id)
        return chain_rank[node.chain_id], key[::-1]

    nodes = sorted(nodes, key=tree_position)
    choices = []
    for node in nodes:
        path, cursor = [], node
        while cursor is not None:
            path.append(cursor.name(locale))
            cursor = by_id.get(cursor.parent_id)
        choices.append((f"{node.chain.code}/{node.code}", node.chain.name(locale) + " › " + " › ".join(reversed(path))))
    return choices

def get_chain(code: str) -> Chain:
    chain = db.session.scalar(select(Chain).where(Chain.code == code))
    if chain is None:
        raise FieldError("chain", _l("未知的产业链。"))
    return chain

def get_region(code: str, field: str = "region") -> Region:
    region = db.session.get(Region, code or "")
    if region is None:
        raise FieldError(field, _l("未知的行政区划代码。"))
    return region

def region_names(codes, locale: str = "zh") -> dict[str, str]:
    """Display names of the given region codes, in one query (for pages that list many codes)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    regions = db.session.scalars(select(Region).where(Region.code.in_(wanted))).all()
    return {region.code: region.name(locale) for region in regions}

def resolve_nodes(chain: Chain, keys: list[str]) -> list[ChainNode]:
    """Nodes named "chain/node" that must all belong to `chain`."""
    nodes = []
    for key in keys:
        chain_code, _, node_code = key.partition("/")
        if chain_code != chain.code:
            raise FieldError("nodes", _l("所选环节不属于所选产业链。"))
        node = db.session.scalar(select(ChainNode).where(ChainNode.chain_id == chain.id, ChainNode.code == node_code))
        if node is None:
            raise FieldError("nodes", _l("未知的产业链环节。"))
        nodes.append(node)
    return nodes

# ---- enterprises and needs ------------------------------------------------------------------

@dataclass
class EnterpriseFacts:
    credit_code: str
    name: str
    region_code: str
    chain_code: str
    node_keys: list[str]
    stage: str
    industry: str
    employees: int
    revenue_yuan: int
    total_assets_yuan: int | None
    tiers: list[str]
    description: str = ""
    contact_name: str = ""
    contact_phone: str = ""

def _apply_enterprise_facts(enterprise: Enterprise, facts: EnterpriseFacts) -> None:
    chain = get_chain(facts.chain_code)
    region = get_region(facts.region_code)
    enterprise.name = facts.name.strip()
    enterprise.region_code = region.code
    enterprise.chain_id = chain.id
    enterprise.nodes = resolve_nodes(chain, facts.node_keys)
    enterprise.stage = facts.stage
    enterprise.industry = facts.industry
    enterprise.employees = facts.employees
    enterprise.revenue_yuan = facts.revenue_yuan
    enterprise.total_assets_yuan = facts.total_assets_yuan
    enterprise.tiers = sorted(set(facts.tiers))
    enterprise.description = facts.description
    enterprise.contact_name = facts.contact_name
    enterprise.contact_phone = facts.contact_phone

def create_enterprise(facts: EnterpriseFacts) -> Enterprise:
    """Register an enterprise (at sign-up). Refuses a credit code that is invalid or already registered."""
    code = check_credit_code(facts.credit_code)
    if db.session.scalar(select(Enterprise.id).where(Enterprise.credit_code == code)) is not None:
        raise FieldError("credit_code", _l("该统一社会信用代码已注册。"))
    enterprise = Enterprise(credit_code=code)
    _apply_enterprise_facts(enterprise, facts)
    db.session.add(enterprise)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise FieldError("credit_code", _l("该统一社会信用代码已注册。")) from None
    return enterprise

def update_enterprise(actor, enterprise: Enterprise, facts: EnterpriseFacts) -> Enterprise:
    """The credit code is the enterprise's identity and is not changed here."""
    ensure_own_enterprise(actor, enterprise)
    _apply_enterprise_facts(enterprise, facts)
    db.session.flush()
    return enterprise

def ensure_own_enterprise(actor, enterprise: Enterprise | None) -> None:
    require_owner(getattr(enterprise, "id", None), actor.enterprise_id)

def own_need(actor, need_id: int) -> FinancingNeed:
    need = db.session.get(FinancingNeed, need_id)
    require_owner(getattr(need, "enterprise_id", None), actor.enterprise_id)
    return need

@dataclass
class NeedFacts:
    type: str
    amount_yuan: int
    term_months: int | None
    purpose: str
    collateral: list[str]

def _apply_need_facts(need: FinancingNeed, facts: NeedFacts) -> None:
    if facts.type not in {t.value for t in FinancingType}:
        raise FieldError("type", _l("未知的融资类型。"))
    need.type = facts.type
    need.amount_yuan = facts.amount_yuan
    need.term_months = facts.term_months
    need.purpose = facts.purpose.strip()
    need.collateral = sorted(set(facts.collateral))

def create_need(actor, facts: NeedFacts) -> FinancingNeed:
    if actor.enterprise_id is None:
        raise Forbidden()
    need = FinancingNeed(enterprise_id=actor.enterprise_id, status=NeedStatus.OPEN)
    _apply_need_facts(need, facts)
    db.session.add(need)
    db.session.flush()
    return need

def update_need(actor, need: FinancingNeed, facts: NeedFacts) -> FinancingNeed:
    require_owner(need.enterprise_id, actor.enterprise_id)
    if need.status != NeedStatus.OPEN:
        raise FieldError("type", _l("需求已进入对接流程，不能再修改；如有变化请撤回后重新发布。"))
    _apply_need_facts(need, facts)
    db.session.flush()
    return need

def withdraw_need(actor, need: FinancingNeed, reason: str = "") -> FinancingNeed:
    require_owner(need.enterprise_id, actor.enterprise_id)
    if need.status in (NeedStatus.WITHDRAWN, NeedStatus.DISBURSED):
        raise FieldError("reason", _l("该需求已撤回或已放款，不能撤回。"))
    need.status = NeedStatus.WITHDRAWN
    need.withdrawn_reason = reason.strip()
    db.session.flush()
    return need

# ---- institutions and products --------------------------------------------------------------

@dataclass
class InstitutionFacts:
    name: str
    kind: str
    kind_other: str
    region_codes: list[str]
    contact_name: str
    contact_phone: str
    contact_email: str
    description: str = ""
    website: str = ""

def _apply_institution_facts(institution: Institution, facts: InstitutionFacts) -> None:
    if facts.kind == InstitutionKind.OTHER and not facts.kind_other.strip():
        raise FieldError("kind_other", _l("请填写机构类别名称。"))
    for code in facts.region_codes:
        get_region(code, "region_codes")
    institution.name = facts.name.strip()
    institution.kind = facts.kind
    institution.kind_other = facts.kind_other.strip() if facts.kind == InstitutionKind.OTHER else ""
    institution.region_codes = sorted(set(facts.region_codes))
    institution.contact_name = facts.contact_name
    institution.contact_phone = facts.contact_phone
    institution.contact_email = facts.contact_email
    institution.description = facts.description
    institution.website = facts.website

def create_institution(facts: InstitutionFacts) -> Institution:
    """A self-registered institution waits for an organiser's approval."""
    if db.session.scalar(select(Institution.id).where(Institution.name == facts.name.strip())) is not None:
        raise FieldError("name", _l("该机构名称已注册。"))
    institution = Institution(status=InstitutionStatus.PENDING)
    _apply_institution_facts(institution, facts)
    db.session.add(institution)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise FieldError("name", _l("该机构名称已注册。")) from None
    return institution

def update_institution(actor, institution: Institution, facts: InstitutionFacts) -> Institution:
    require_owner(institution.id, actor.institution_id)
    clash = db.session.scalar(select(Institution.id).where(Institution.name == facts.name.strip(),
                                                            Institution.id != institution.id))
    if clash is not None:
        raise FieldError("name", _l("该机构名称已被使用。"))
    _apply_institution_facts(institution, facts)
    if institution.status == InstitutionStatus.REJECTED:
        # Corrected after a rejection: back in the organisers' queue (the last note stays visible).
        institution.status = InstitutionStatus.PENDING
    try:
        with db.session.begin_nested():  # another institution took the name a moment ago
            db.session.flush()
    except IntegrityError:
        raise FieldError("name", _l("该机构名称已被使用。")) from None
    return institution

def _organiser_scope(actor):
    """SQL condition: the institution serves somewhere in the organiser's region, or nationwide."""
    prefix = region_prefix(actor.organiser_office.region_code)
    serves_here = (select(InstitutionRegion.institution_id)
                   .where(InstitutionRegion.institution_id == Institution.id,
                          InstitutionRegion.region_code.startswith(prefix)).exists())
    nationwide = ~select(InstitutionRegion.institution_id).where(
        InstitutionRegion.institution_id == Institution.id).exists()
    return or_(serves_here, nationwide)


def institutions_for_review(actor) -> list[Institution]:
    """Pending first. An organiser sees the institutions serving its region; an admin sees all."""
    query = select(Institution).order_by(Institution.status != InstitutionStatus.PENDING,
                                         Institution.created_at.desc(), Institution.id)
    if actor.role == Role.ORGANISER:
        query = query.where(_organiser_scope(actor))
    elif actor.role != Role.ADMIN:
        raise Forbidden()
    return list(db.session.scalars(query))


def review_institution(actor, institution: Institution, approve: bool, note: str = "") -> Institution:
    """An organiser (within its region) or an admin approves or rejects an institution."""
    if actor.role == Role.ORGANISER:
        in_scope = db.session.scalar(select(Institution.id).where(Institution.id == institution.id,
                                                                  _organiser_scope(actor)))
        if in_scope is None:
            raise NotFound()
    elif actor.role != Role.ADMIN:
        raise Forbidden()
    institution.status = (InstitutionStatus.APPROVED if approve else InstitutionStatus.REJECTED).value
    institution.review_note = note.strip()
    institution.reviewed_at = utcnow()
    db.session.flush()
    signals.institution_reviewed.send(actor, institution=institution)
    return institution

def own_product(actor, product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    require_owner(getattr(product, "institution_id", None), actor.institution_id)
    return product

@dataclass
class ProductFacts:
    name: str
    type: str
    description: str
    amount_min_yuan: int
    amount_max_yuan: int
    rate_min_bp: int | None
    rate_max_bp: int | None
    term_min_months: int | None
    term_max_months: int | None
    chain_codes: list[str]
    region_codes: list[str]
    stages: list[str]
    tiers: list[str]
    collateral: list[str]
    is_exclusive: bool
    response_working_days: int

def _apply_product_facts(product: Product, facts: ProductFacts) -> None:
    if facts.amount_min_yuan > facts.amount_max_yuan:
        raise FieldError("amount_max", _l("最高金额不能低于最低金额。"))
    if facts.rate_min_bp is not None and facts.rate_max_bp is not None and facts.rate_min_bp > facts.rate_max_bp:
        raise FieldError("rate_max", _l("最高费率不能低于最低费率。"))
    if (facts.term_min_months is not None and facts.term_max_months is not None
            and facts.term_min_months > facts.term_max_months):
        raise FieldError("term_max_months", _l("最长期限不能短于最短期限。"))
    chains = [get_chain(code) for code in facts.chain_codes]
    for code in facts.region_codes:
        get_region(code, "region_codes")
    product.name = facts.name.strip()
    product.type = facts.type
    product.description = facts.description
    product.amount_min_yuan = facts.amount_min_yuan
    product.amount_max_yuan = facts.amount_max_yuan
    product.rate_min_bp = facts.rate_min_bp
    product.rate_max_bp = facts.rate_max_bp
    product.term_min_months = facts.term_min_months
    product.term_max_months = facts.term_max_months
    product.chains = chains
    product.region_codes = sorted(set(facts.region_codes))
    product.stages = sorted(set(facts.stages))
    product.tiers = sorted(set(facts.tiers))
    product.collateral = sorted(set(facts.collateral))
    product.is_exclusive = facts.is_exclusive
    product.response_working_days = facts.response_working_days

def _check_product_name_free(institution_id: int, name: str, product_id: int | None = None) -> None:
    query = select(Product.id).where(Product.institution_id == institution_id, Product.name == name.strip())
    if product_id is not None:
        query = query.where(Product.id != product_id)
    if db.session.scalar(query) is not None:
        raise FieldError("name", _l("本机构已有同名产品。"))

def create_product(actor, facts: ProductFacts) -> Product:
    if actor.institution_id is None:
        raise Forbidden()
    _check_product_name_free(actor.institution_id, facts.name)
    product = Product(institution_id=actor.institution_id, status=ProductStatus.ACTIVE)
    _apply_product_facts(product, facts)
    db.session.add(product)
    _flush_product_name(product)
    return product

def _flush_product_name(product: Product) -> None:
    """Flush in a savepoint: the same name saved at the same moment by someone else is a field error."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise FieldError("name", _l("本机构已有同名产品。")) from None

def update_product(actor, product: Product, facts: ProductFacts) -> Product:
    require_owner(product.institution_id, actor.institution_id)
    _check_product_name_free(actor.institution_id, facts.name, product.id)
    _apply_product_facts(product, facts)
    _flush_product_name(product)
    return product

def retire_product(actor, product: Product) -> Product:
    require_owner(product.institution_id, actor.institution_id)
    product.status = ProductStatus.RETIRED
    db.session.flush()
    return product

def reactivate_product(actor, product: Product) -> Product:
    require_owner(product.institution_id, actor.institution_id)
    product.status = ProductStatus.ACTIVE
    db.session.flush()
    return product

# ---- the public catalogue (金融超市) ----------------------------------------------------------

@dataclass
class CatalogueFilter:
    type: str | None = None
    chain_code: str | None = None
    region_code: str | None = None
    amount_yuan: int | None = None
    exclusive_only: bool = False

def catalogue(filters: CatalogueFilter) -> list[Product]:
    """Active products of approved institutions that fit the filters.

    Region: a product with no regions serves the whole country; otherwise one of its regions must
    contain the chosen region (province XX0000 by two digits, city XXXX00 by four, district exact).
    Chain: a product with no chains serves every chain.
    """
    query = (select(Product).join(Institution)
             .where(Product.status == ProductStatus.ACTIVE, Institution.status == InstitutionStatus.APPROVED))
    if filters.type:
        query = query.where(Product.type == filters.type)
    if filters.amount_yuan is not None:
        query = query.where(Product.amount_min_yuan <= filters.amount_yuan,
                            Product.amount_max_yuan >= filters.amount_yuan)
    if filters.exclusive_only:
        query = query.where(Product.is_exclusive.is_(True))
    if filters.chain_code:
        chain_id = select(Chain.id).where(Chain.code == filters.chain_code).scalar_subquery()
        has_chains = select(ProductChain.product_id).where(ProductChain.product_id == Product.id).exists()
        on_chain = (select(ProductChain.product_id)
                    .where(ProductChain.product_id == Product.id, ProductChain.chain_id == chain_id).exists())
        query = query.where(or_(~has_chains, on_chain))
    if filters.region_code:
        code = filters.region_code
        covering = [code, code[:4] + "00", code[:2] + "0000"]
        has_regions = select(ProductRegion.product_id).where(ProductRegion.product_id == Product.id).exists()
        covers = (select(ProductRegion.product_id)
                  .where(ProductRegion.product_id == Product.id, ProductRegion.region_code.in_(covering)).exists())
        query = query.where(or_(~has_regions, covers))
    query = query.order_by(Product.is_exclusive.desc(), Product.type, Product.amount_min_yuan, Product.id)
    return list(db.session.scalars(query).unique())

def institution_for(actor) -> Institution:
    if actor.institution_id is None:
        raise Forbidden()
    return db.session.get(Institution, actor.institution_id)


# ---- what pages ask --------------------------------------------------------------------------

def enterprise_of(actor) -> Enterprise | None:
    """The SME user's own enterprise."""
    return db.session.get(Enterprise, actor.enterprise_id)


def product_by_id(product_id: int) -> Product | None:
    return db.session.get(Product, product_id)


def institution_by_id(institution_id: int) -> Institution | None:
    return db.session.get(Institution, institution_id)


def chains(codes=None) -> list[Chain]:
    """The industrial chains in their display order (only those of `codes` when given)."""
    query = select(Chain).order_by(Chain.sort_order, Chain.id)
    if codes is not None:
        query = query.where(Chain.code.in_(codes))
    return list(db.session.scalars(query))


def market_figures() -> dict[str, int]:
    """The home page's counts: enterprises, needs, institutions and active products."""
    return {
        "enterprises": db.session.scalar(select(func.count(Enterprise.id))),
        "needs": db.session.scalar(select(func.count(FinancingNeed.id))),
        "institutions": db.session.scalar(select(func.count(Institution.id))),
        "products": db.session.scalar(select(func.count(Product.id)).where(Product.status == ProductStatus.ACTIVE)),
    }


def exclusive_products(limit: int = 6) -> list[Product]:
    """Active exclusive products (专属产品), oldest first."""
    return list(db.session.scalars(
        select(Product).where(Product.is_exclusive.is_(True), Product.status == ProductStatus.ACTIVE)
        .order_by(Product.id).limit(limit)))


def enterprise_by_id(enterprise_id: int) -> Enterprise | None:
    return db.session.get(Enterprise, enterprise_id)


def institutions_by_id(institution_ids) -> dict[int, Institution]:
    """These institutions, by id."""
    return {i.id: i for i in db.session.scalars(select(Institution).where(Institution.id.in_(set(institution_ids))))}
