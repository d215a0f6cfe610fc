"""Idempotent loader of the seed data files in this folder.

Every function takes an SQLAlchemy session, adds what is missing, flushes and returns counts; none
commits (the caller does: `chainmatch seed`, a test, the demo). Rows are matched by natural keys,
looked up in bulk first (one query per table, never one per row):

    chains            code                      regions      code
    chain nodes       (chain, code)             institutions name
    products          (institution, name)       enterprises  credit code
    organiser offices name                      users        email

Reference data (chains, nodes, regions) is synchronised: a row whose names, order or parent
differ from the file is updated. Market data (institutions, products, enterprises, needs,
offices) and demo accounts are only ever created: a row that is already there belongs to its
users, who may have edited it, so it is left as it is. Financing needs have no natural key of
their own; they are part of their enterprise and are created with it (an enterprise that is
already present keeps the needs it has). Loading twice therefore changes nothing.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import OrganiserOffice, User
from core.clock import utcnow
from core.roles import Role
from market.credit_code import CreditCodeError, normalise_credit_code
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
from market.models import Chain, ChainNode, Enterprise, FinancingNeed, Institution, Product, Region
from policies.store import load_policy_library  # the policy library (政策库), seeded by policy key

SEEDS_DIR = Path(str(resources.files("seeds")))  # the data files travel with the package
WAN = 10_000
TABLES = ("chains", "chain_nodes", "regions", "institutions", "products", "enterprises",
          "financing_needs", "organiser_offices", "users")

_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SeedError(ValueError):
    """A data file is inconsistent (unknown code, bad value); the message names file and entry."""


def _counts() -> dict[str, int]:
    return {"created": 0, "present": 0, "updated": 0, "skipped": 0}


def _read_yaml(name: str) -> dict:
    with open(SEEDS_DIR / name, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_YamlLoader)


def _check(values: Iterable[str], enum_cls, where: str) -> list[str]:
    values = list(values or [])
    allowed = {member.value for member in enum_cls}
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise SeedError(f"{where}: unknown {enum_cls.__name__} {unknown}")
    return values


def _known_regions(session: Session, codes: Iterable[str], where: str) -> list[str]:
    codes = [str(code) for code in codes or []]
    if codes:
        found = set(session.scalars(select(Region.code).where(Region.code.in_(codes))))
        missing = [code for code in codes if code not in found]
        if missing:
            raise SeedError(f"{where}: unknown region code(s) {missing} (load_reference first)")
    return codes


# --- reference data ----------------------------------------------------------------------

def read_regions() -> list[dict]:
    with open(SEEDS_DIR / "regions.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["parent_code"] = row["parent_code"] or None
    return rows


def read_chains() -> list[dict]:
    return _read_yaml("chains.yaml")["chains"]


def load_regions(session: Session) -> dict[str, int]:
    counts = _counts()
    existing = {region.code: region for region in session.scalars(select(Region))}
    order = {RegionLevel.PROVINCE: 0, RegionLevel.CITY: 1, RegionLevel.DISTRICT: 2}
    rows = sorted(read_regions(), key=lambda row: (order[RegionLevel(row["level"])], row["code"]))
    for row in rows:
        fields = {"name_zh": row["name_zh"], "name_en": row["name_en"], "level": row["level"],
                  "parent_code": row["parent_code"]}
        parent = existing.get(row["parent_code"]) if row["parent_code"] else None
        if row["parent_code"] and parent is None:
            raise SeedError(f"regions.csv {row['code']}: parent {row['parent_code']} is not listed")
        region = existing.get(row["code"])
        if region is None:
            region = Region(code=row["code"], **fields)
            region.parent = parent  # lets the unit of work insert parents first
            session.add(region)
            existing[row["code"]] = region
            counts["created"] += 1
        elif any(getattr(region, key) != value for key, value in fields.items()):
            for key, value in fields.items():
                setattr(region, key, value)
            region.parent = parent
            counts["updated"] += 1
        else:
            counts["present"] += 1
    session.flush()
    return counts


def load_chains(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    chain_counts, node_counts = _counts(), _counts()
    chains = {chain.code: chain for chain in session.scalars(select(Chain))}
    nodes = {(node.chain_id, node.code): node for node in session.scalars(select(ChainNode))}

    def sync(obj, fields: dict, counts: dict) -> None:
        if any(getattr(obj, key) != value for key, value in fields.items()):
            for key, value in fields.items():
                setattr(obj, key, value)
            counts["updated"] += 1
        else:
            counts["present"] += 1

    for chain_order, entry in enumerate(read_chains()):
        fields = {"name_zh": entry["name_zh"], "name_en": entry["name_en"], "sort_order": chain_order}
        chain = chains.get(entry["code"])
        if chain is None:
            chain = Chain(code=entry["code"], **fields)
            session.add(chain)
            chains[entry["code"]] = chain
            chain_counts["created"] += 1
        else:
            sync(chain, fields, chain_counts)

        seen: set[str] = set()

        def walk(children: list[dict], parent: ChainNode | None) -> None:
            for node_order, item in enumerate(children):
                if item["code"] in seen:
                    raise SeedError(f"chains.yaml {entry['code']}: node code {item['code']} repeated")
                seen.add(item["code"])
                node = nodes.get((chain.id, item["code"])) if chain.id is not None else None
                if node is None:
                    node = ChainNode(chain=chain, parent=parent, code=item["code"], name_zh=item["name_zh"],
                                     name_en=item["name_en"], sort_order=node_order)
                    session.add(node)
                    node_counts["created"] += 1
                else:
                    fields = {"name_zh": item["name_zh"], "name_en": item["name_en"], "sort_order": node_order}
                    if node.parent is not parent:
                        node.parent = parent
                        node_counts["updated"] += 1
                        for key, value in fields.items():
                            setattr(node, key, value)
                    else:
                        sync(node, fields, node_counts)
                walk(item.get("children", []), node)

        walk(entry.get("nodes", []), None)
    session.flush()
    return chain_counts, node_counts


def load_reference(session: Session) -> dict[str, dict[str, int]]:
    """Chains, their node trees and the GB/T 2260 regions."""
    regions = load_regions(session)
    chains, nodes = load_chains(session)
    return {"chains": chains, "chain_nodes": nodes, "regions": regions}


# --- market data -------------------------------------------------------------------------

def read_institutions() -> list[dict]:
    return _read_yaml("institutions.yaml")["institutions"]


def read_offices() -> list[dict]:
    return _read_yaml("offices.yaml")["offices"]


def read_demo_smes() -> list[dict]:
    with open(SEEDS_DIR / "demo_smes.json", encoding="utf-8") as handle:
        return json.load(handle)["enterprises"]


def _range(entry: dict, key: str, scale: int = 1) -> tuple[int | None, int | None]:
    value = entry.get(key)
    if value is None:
        return None, None
    low, high = value
    return int(low) * scale, int(high) * scale


def load_institutions(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    inst_counts, product_counts = _counts(), _counts()
    chains = {chain.code: chain for chain in session.scalars(select(Chain))}
    region_codes = set(session.scalars(select(Region.code)))
    institutions = {inst.name: inst for inst in session.scalars(select(Institution))}
    products = {tuple(row) for row in session.execute(select(Product.institution_id, Product.name))}
    now = utcnow()

    def regions_of(codes, where):
        codes = [str(code) for code in codes or []]
        missing = [code for code in codes if code not in region_codes]
        if missing:
            raise SeedError(f"{where}: unknown region code(s) {missing} (load_reference first)")
        return codes

    for entry in read_institutions():
        where = f"institutions.yaml {entry['name']}"
        kind = _check([entry["kind"]], InstitutionKind, where)[0]
        institution = institutions.get(entry["name"])
        if institution is None:
            contact = entry.get("contact", {})
            institution = Institution(
                name=entry["name"], kind=kind, kind_other=entry.get("kind_other", ""),
                description=entry.get("description", ""), website=entry.get("website", ""),
                contact_name=contact.get("name", ""), contact_phone=str(contact.get("phone", "")),
                contact_email=contact.get("email", ""), status=InstitutionStatus.APPROVED,
                reviewed_at=now, review_note="种子数据 / seed data")
            institution.region_codes = regions_of(entry.get("regions"), where)
            session.add(institution)
            institutions[entry["name"]] = institution
            inst_counts["created"] += 1
        else:
            inst_counts["present"] += 1

        for item in entry.get("products", []):
            pwhere = f"{where} / {item['name']}"
            if institution.id is not None and (institution.id, item["name"]) in products:
                product_counts["present"] += 1
                continue
            amount_min, amount_max = _range(item, "amount_wan", WAN)
            rate_min, rate_max = _range(item, "rate_bp")
            term_min, term_max = _range(item, "term_months")
            if amount_min is None or not 0 < amount_min <= amount_max:
                raise SeedError(f"{pwhere}: amount_wan must be [min, max] with 0 < min <= max")
            unknown_chains = [code for code in item.get("chains", []) if code not in chains]
            if unknown_chains:
                raise SeedError(f"{pwhere}: unknown chain(s) {unknown_chains}")
            product = Product(
                institution=institution, name=item["name"],
                type=_check([item["type"]], FinancingType, pwhere)[0],
                description=item.get("description", ""), amount_min_yuan=amount_min, amount_max_yuan=amount_max,
                rate_min_bp=rate_min, rate_max_bp=rate_max, term_min_months=term_min, term_max_months=term_max,
                is_exclusive=bool(item.get("exclusive", False)),
                response_working_days=int(item.get("response_days", 5)), status=ProductStatus.ACTIVE)
            product.chains = [chains[code] for code in item.get("chains", [])]
            product.region_codes = regions_of(item.get("regions"), pwhere)
            product.stages = _check(item.get("stages"), Stage, pwhere)
            product.tiers = _check(item.get("tiers"), Tier, pwhere)
            product.collateral = _check(item.get("collateral"), Collateral, pwhere)
            session.add(product)
            product_counts["created"] += 1
    session.flush()
    return inst_counts, product_counts


def load_enterprises(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    ent_counts, need_counts = _counts(), _counts()
    chains = {chain.code: chain for chain in session.scalars(select(Chain))}
    nodes = {(node.chain_id, node.code): node for node in session.scalars(select(ChainNode))}
    region_codes = set(session.scalars(select(Region.code)))
    existing = {code: id_ for code, id_ in session.execute(select(Enterprise.credit_code, Enterprise.id))}
    need_keys = {tuple(row) for row in session.execute(select(
        FinancingNeed.enterprise_id, FinancingNeed.type, FinancingNeed.amount_yuan, FinancingNeed.purpose))}

    for entry in read_demo_smes():
        where = f"demo_smes.json {entry['name']}"
        try:
            code = normalise_credit_code(entry["credit_code"])
        except CreditCodeError as error:
            raise SeedError(f"{where}: invalid credit code ({error.reason})") from None
        enterprise_id = existing.get(code)
        if enterprise_id is not None:
            ent_counts["present"] += 1
            for need in entry["needs"]:
                key = (enterprise_id, need["type"], need["amount_yuan"], need["purpose"])
                need_counts["present" if key in need_keys else "skipped"] += 1
            continue
        chain = chains.get(entry["chain"])
        if chain is None:
            raise SeedError(f"{where}: unknown chain {entry['chain']}")
        if entry["region"] not in region_codes:
            raise SeedError(f"{where}: unknown region {entry['region']}")
        try:
            node_objs = [nodes[(chain.id, node_code)] for node_code in entry["nodes"]]
        except KeyError as error:
            raise SeedError(f"{where}: unknown node {error.args[0][1]} of chain {chain.code}") from None
        enterprise = Enterprise(
            credit_code=code, name=entry["name"], region_code=entry["region"], chain=chain,
            stage=_check([entry["stage"]], Stage, where)[0],
            industry=_check([entry["industry"]], Industry, where)[0],
            employees=entry["employees"], revenue_yuan=entry["revenue_yuan"],
            total_assets_yuan=entry.get("total_assets_yuan"), description=entry.get("description", ""),
            contact_name=entry.get("contact_name", ""), contact_phone=entry.get("contact_phone", ""))
        enterprise.tiers = _check(entry.get("tiers"), Tier, where)
        enterprise.nodes = node_objs
        session.add(enterprise)
        existing[code] = -1  # a repeated code in the file is created once
        ent_counts["created"] += 1
        for need in entry["needs"]:
            if not need["amount_yuan"] > 0:
                raise SeedError(f"{where}: need amount must be positive")
            row = FinancingNeed(
                enterprise=enterprise, type=_check([need["type"]], FinancingType, where)[0],
                amount_yuan=need["amount_yuan"], term_months=need.get("term_months"),
                purpose=need.get("purpose", ""), status=NeedStatus.OPEN)
            row.collateral = _check(need.get("collateral"), Collateral, where)
            session.add(row)
            need_counts["created"] += 1
    session.flush()
    return ent_counts, need_counts


def load_offices(session: Session) -> dict[str, int]:
    counts = _counts()
    existing = set(session.scalars(select(OrganiserOffice.name)))
    for entry in read_offices():
        if entry["name"] in existing:
            counts["present"] += 1
            continue
        region_code = _known_regions(session, [entry["region"]], f"offices.yaml {entry['name']}")[0]
        session.add(OrganiserOffice(name=entry["name"], region_code=region_code))
        existing.add(entry["name"])
        counts["created"] += 1
    session.flush()
    return counts


def load_market(session: Session) -> dict[str, dict[str, int]]:
    """Institutions and their products, demo SMEs and their needs, organiser offices."""
    institutions, products = load_institutions(session)
    enterprises, needs = load_enterprises(session)
    offices = load_offices(session)
    return {"institutions": institutions, "products": products, "enterprises": enterprises,
            "financing_needs": needs, "organiser_offices": offices}


# --- demo accounts -----------------------------------------------------------------------

def load_demo_accounts(session: Session) -> dict[str, dict[str, int]]:
    """The demo users (password in demo_accounts.yaml). Existing users are left untouched."""
    counts = _counts()
    data = _read_yaml("demo_accounts.yaml")
    existing = {email.lower() for email in session.scalars(select(User.email))}
    password_hash = None
    for entry in data["accounts"]:
        where = f"demo_accounts.yaml {entry['email']}"
        if entry["email"].lower() in existing:
            counts["present"] += 1
            continue
        role = Role(entry["role"])
        user = User(email=entry["email"], display_name=entry["display_name"], role=role.value, locale="zh",
                    email_verified_at=utcnow())
        if role == Role.SME:
            user.enterprise = _one(session, select(Enterprise).where(Enterprise.name == entry["enterprise"])
                                   .order_by(Enterprise.id), where)
        elif role == Role.INSTITUTION:
            user.institution = _one(session, select(Institution).where(Institution.name == entry["institution"]),
                                    where)
        elif role == Role.ORGANISER:
            user.organiser_office = _one(session, select(OrganiserOffice)
                                         .where(OrganiserOffice.name == entry["office"]), where)
        if password_hash is None:
            user.set_password(str(data["password"]))  # Argon2 is slow on purpose: hash once,
            password_hash = user.password_hash       # every demo account shares the password
        else:
            user.password_hash = password_hash
        session.add(user)
        existing.add(entry["email"].lower())
        counts["created"] += 1
    session.flush()
    return {"users": counts}


def _one(session: Session, statement, where: str):
    obj = session.scalars(statement.limit(1)).first()
    if obj is None:
        raise SeedError(f"{where}: the enterprise, institution or office it names is not loaded (load_market first)")
    return obj


# --- everything --------------------------------------------------------------------------

def load_all(session: Session, demo_accounts: bool = False) -> dict[str, dict[str, int]]:
    """Reference data, market data and (when asked) demo accounts; flushes, never commits.

    Returns {table: {"created": n, "present": n, "updated": n, "skipped": n}}: "present" rows were
    already there and left as they are, "updated" reference rows were brought in line with the
    files, "skipped" needs belong to an enterprise that was already present.
    """
    counts = load_reference(session)
    counts.update(load_market(session))
    counts.update(load_policy_library(session))
    if demo_accounts:
        counts.update(load_demo_accounts(session))
    return counts
