"""The loader: creates everything once, changes nothing the second time, never commits."""
import json
import time

import pytest
from sqlalchemy import event, func, select

from accounts.models import OrganiserOffice, User
from core.extensions import db
from market.enums import SizeClass
from market.models import Chain, ChainNode, Enterprise, FinancingNeed, Institution, Product, Region
from policies.loader import load_library
from policies.models import Policy as PolicyRow
from seeds import loader
from seeds.loader import (
    load_all,
    load_demo_accounts,
    load_market,
    load_reference,
    read_chains,
    read_demo_smes,
    read_institutions,
    read_regions,
)

TABLE_MODELS = {"chains": Chain, "chain_nodes": ChainNode, "regions": Region, "institutions": Institution,
                "products": Product, "enterprises": Enterprise, "financing_needs": FinancingNeed,
                "organiser_offices": OrganiserOffice, "users": User, "policies": PolicyRow}


def _expected_counts() -> dict[str, int]:
    def node_count(nodes):
        return sum(1 + node_count(node.get("children", [])) for node in nodes)

    smes = read_demo_smes()
    institutions = read_institutions()
    return {"chains": len(read_chains()), "chain_nodes": sum(node_count(c["nodes"]) for c in read_chains()),
            "regions": len(read_regions()), "institutions": len(institutions),
            "products": sum(len(i.get("products", [])) for i in institutions), "enterprises": len(smes),
            "financing_needs": sum(len(s["needs"]) for s in smes), "organiser_offices": len(loader.read_offices()),
            "users": 7, "policies": len(load_library().policies)}


def _row_counts(session) -> dict[str, int]:
    return {name: session.scalar(select(func.count()).select_from(model)) for name, model in TABLE_MODELS.items()}


def _snapshot(session) -> dict[str, list]:
    """Every row of every table (association tables included), in primary-key order."""
    snapshot = {}
    for table in db.metadata.sorted_tables:
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
        snapshot[table.name] = [tuple(row) for row in rows]
    return snapshot


def test_load_all_creates_everything_with_few_queries(empty_db):
    selects = []

    def count_selects(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(db.engine, "before_cursor_execute", count_selects)
    started = time.process_time()  # CPU time: robust to other processes on the machine
    try:
        counts = load_all(empty_db)
    finally:
        event.remove(db.engine, "before_cursor_execute", count_selects)
    cpu = time.process_time() - started
    expected = _expected_counts()
    expected.pop("users")
    assert {table: row["created"] for table, row in counts.items()} == expected
    assert all(row["present"] == row["updated"] == row["skipped"] == 0 for row in counts.values())
    empty_db.commit()
    assert {k: v for k, v in _row_counts(empty_db).items() if k != "users"} == expected
    assert len(selects) < 40, "lookups are bulk-loaded, never one query per row"
    if db.engine.dialect.name == "sqlite":
        assert cpu < 5, f"loading took {cpu:.2f} s of CPU"


def test_loader_flushes_but_never_commits(empty_db):
    load_reference(empty_db)
    load_market(empty_db)
    assert empty_db.scalar(select(func.count()).select_from(Enterprise)) == len(read_demo_smes())  # flushed
    empty_db.rollback()
    assert all(count == 0 for count in _row_counts(empty_db).values())


def test_loading_twice_changes_nothing(empty_db, cheap_hashing):
    first = load_all(empty_db, demo_accounts=True)
    empty_db.commit()
    before_counts, before_rows = _row_counts(empty_db), _snapshot(empty_db)
    assert before_counts == _expected_counts()

    second = load_all(empty_db, demo_accounts=True)
    assert not empty_db.new and not empty_db.dirty and not empty_db.deleted
    empty_db.commit()
    for table, row in second.items():
        assert row["created"] == row["updated"] == row["skipped"] == 0, (table, row)
        assert row["present"] == first[table]["created"], (table, row)
    assert _row_counts(empty_db) == before_counts
    assert _snapshot(empty_db) == before_rows


def test_reference_rows_are_brought_back_in_line(empty_db):
    load_reference(empty_db)
    empty_db.commit()
    empty_db.get(Region, "330108").name_zh = "滨江"
    node = empty_db.scalars(select(ChainNode).where(ChainNode.code == "liquid_cooled_servers")).one()
    node.name_en = "typo"
    node.sort_order = 99
    empty_db.commit()
    counts = load_reference(empty_db)
    assert counts["regions"]["updated"] == 1 and counts["chain_nodes"]["updated"] == 1
    empty_db.commit()
    assert empty_db.get(Region, "330108").name_zh == "滨江区"
    assert node.name_en == "High-performance liquid-cooled servers" and node.sort_order == 2


def test_market_rows_edited_by_their_users_are_left_alone(empty_db):
    load_all(empty_db)
    empty_db.commit()
    product = empty_db.scalars(select(Product).where(Product.name == "泰和科创普惠贷")).one()
    product.rate_min_bp = 333
    enterprise = empty_db.scalars(select(Enterprise).where(Enterprise.name == "杭州智算云科技有限公司")).one()
    need = enterprise.needs[0]
    need.amount_yuan += 10_000  # the key of the seeded need no longer matches
    empty_db.commit()
    counts = load_all(empty_db)
    empty_db.commit()
    assert counts["products"]["created"] == 0 and counts["enterprises"]["created"] == 0
    assert counts["financing_needs"] == {"created": 0, "present": len(_all_needs()) - 1, "updated": 0, "skipped": 1}
    assert product.rate_min_bp == 333
    assert len(enterprise.needs) == 3  # no copy of the edited need


def _all_needs():
    return [need for sme in read_demo_smes() for need in sme["needs"]]


def test_rows_match_the_files(empty_db):
    load_all(empty_db)
    empty_db.commit()
    product = empty_db.scalars(select(Product).where(Product.name == "人工智能产业链专项贷（一月一链专属）")).one()
    assert product.institution.name == "杭城银行股份有限公司"
    assert (product.amount_min_yuan, product.amount_max_yuan) == (1_000_000, 30_000_000)
    assert (product.rate_min_bp, product.rate_max_bp, product.is_exclusive) == (340, 400, True)
    assert [chain.code for chain in product.chains] == ["ai"] and product.region_codes == ["330100"]
    assert sorted(product.collateral) == ["credit", "ip"]
    equity = empty_db.scalars(select(Product).where(Product.name == "Pre-IPO股权投资")).one()
    assert equity.rate_min_bp is None and equity.term_min_months is None
    assert all(inst.is_approved for inst in empty_db.scalars(select(Institution)))
    leasing = empty_db.scalars(select(Institution).where(Institution.kind == "other")).all()
    assert {inst.kind_label for inst in leasing} >= {"融资租赁", "供应链金融"}

    first = read_demo_smes()[0]
    enterprise = empty_db.scalars(select(Enterprise).where(Enterprise.credit_code == first["credit_code"])).one()
    assert enterprise.name == first["name"] and enterprise.region_code == first["region"]
    assert enterprise.chain.code == first["chain"]
    assert [node.code for node in enterprise.nodes] == first["nodes"]
    assert sorted(enterprise.tiers) == sorted(first["tiers"])
    assert sorted((n.type, n.amount_yuan, n.purpose) for n in enterprise.needs) == \
        sorted((n["type"], n["amount_yuan"], n["purpose"]) for n in first["needs"])
    ai = empty_db.scalars(select(Chain).where(Chain.code == "ai")).one()
    compute = next(node for node in ai.nodes if node.code == "compute")
    assert compute.parent is None and "液冷服务器" in " ".join(child.name_zh for child in compute.children)


def test_demo_smes_are_smes_by_size_class(empty_db):
    load_all(empty_db)
    empty_db.commit()
    sizes = {enterprise.name: enterprise.size_class for enterprise in empty_db.scalars(select(Enterprise))}
    assert len(sizes) == len(read_demo_smes())
    assert not [name for name, size in sizes.items() if size in (None, SizeClass.LARGE)]
    assert {SizeClass.MICRO, SizeClass.SMALL, SizeClass.MEDIUM} <= set(sizes.values())
    assert all(need.amount_yuan > 0 for need in empty_db.scalars(select(FinancingNeed)))


def test_demo_accounts(empty_db, cheap_hashing):
    load_all(empty_db, demo_accounts=True)
    empty_db.commit()
    users = {user.email: user for user in empty_db.scalars(select(User))}
    assert set(users) == {"sme@demo.local", "bank@demo.local", "insurer@demo.local", "investor@demo.local",
                          "guarantor@demo.local", "organiser@demo.local", "admin@demo.local"}
    assert all(user.check_password("demo-password") for user in users.values())
    sme = users["sme@demo.local"]
    assert sme.role == "sme" and sme.enterprise.chain.code == "ai" and sme.enterprise.region_code.startswith("3301")
    assert users["bank@demo.local"].institution.kind == "bank"
    assert users["insurer@demo.local"].institution.kind == "insurer"
    assert users["investor@demo.local"].institution.kind == "investor"
    assert users["guarantor@demo.local"].institution.kind == "guarantor"
    assert users["organiser@demo.local"].organiser_office.region_code == "330100"
    assert users["admin@demo.local"].role == "admin"


def test_demo_accounts_need_the_market_first(empty_db):
    load_reference(empty_db)
    with pytest.raises(loader.SeedError, match="load_market first"):
        load_demo_accounts(empty_db)


def test_a_bad_file_gives_a_clear_error(empty_db, monkeypatch):
    load_reference(empty_db)
    smes = read_demo_smes()[:1]
    smes[0] = json.loads(json.dumps(smes[0]))
    smes[0]["region"] = "999999"
    monkeypatch.setattr(loader, "read_demo_smes", lambda: smes)
    with pytest.raises(loader.SeedError, match="unknown region 999999"):
        loader.load_enterprises(empty_db)


def test_seed_command(seed_app):
    from seeds.commands import seed_command
    runner = seed_app.test_cli_runner()
    result = runner.invoke(seed_command, [])
    assert result.exit_code == 0, result.output
    assert "enterprises" in result.output and "seeded in" in result.output
    result = runner.invoke(seed_command, [])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("enterprises"))
    assert line.split()[1:3] == ["0", str(len(read_demo_smes()))]
