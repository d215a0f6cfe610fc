"""The seed data files themselves: complete, consistent and plausible (no database needed)."""
import re
from collections import Counter

import pytest

from core.regions import region_covers
from market.credit_code import is_valid_credit_code
from market.enums import Collateral, FinancingType, Industry, InstitutionKind, SizeClass, Stage, Tier
from market.models import MAX_AMOUNT_YUAN
from market.sizing import classify_size
from seeds import generate_demo_smes
from seeds.loader import _read_yaml, read_chains, read_demo_smes, read_institutions, read_offices, read_regions

CHAIN_CODES = ["ai", "integrated_circuits", "new_energy_vehicles", "machine_tools", "pharma", "medical_devices",
               "industrial_software", "servers", "industrial_robots", "new_materials"]
MUNICIPAL_CITY_ROWS = {"110100", "120100", "310100", "500100", "500200"}
HANGZHOU = {"330102": "上城区", "330105": "拱墅区", "330106": "西湖区", "330108": "滨江区", "330109": "萧山区",
            "330110": "余杭区", "330111": "富阳区", "330112": "临安区", "330113": "临平区", "330114": "钱塘区",
            "330122": "桐庐县", "330127": "淳安县", "330182": "建德市"}
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


@pytest.fixture(scope="module")
def regions():
    return {row["code"]: row for row in read_regions()}


@pytest.fixture(scope="module")
def smes():
    return read_demo_smes()


@pytest.fixture(scope="module")
def products():
    return [(inst, product) for inst in read_institutions() for product in inst.get("products", [])]


# --- regions ---------------------------------------------------------------------------------

def test_region_codes_are_unique_six_digits_with_names(regions):
    rows = read_regions()
    assert len(rows) == len(regions)
    for row in rows:
        assert re.fullmatch(r"\d{6}", row["code"]), row
        assert row["name_zh"] and row["name_en"], row
        assert row["name_en"].isascii() or "ü" in row["name_en"], row


def test_levels_follow_the_code(regions):
    for code, row in regions.items():
        expected = "province" if code.endswith("0000") else "city" if code.endswith("00") else "district"
        assert row["level"] == expected, row


def test_every_parent_exists_and_matches_the_prefix_rule(regions):
    for code, row in regions.items():
        if row["level"] == "province":
            assert row["parent_code"] is None, row
            continue
        parent = regions.get(row["parent_code"])
        assert parent is not None, row
        assert region_covers(parent["code"], code), row
        if row["level"] == "city":
            assert parent["code"] == code[:2] + "0000", row
        else:  # under its city when the city is listed, else directly under the province
            city = code[:4] + "00"
            assert parent["code"] == (city if city in regions else code[:2] + "0000"), row


def test_all_34_province_level_divisions(regions):
    provinces = {code: row["name_zh"] for code, row in regions.items() if row["level"] == "province"}
    assert len(provinces) == 34
    assert provinces["710000"] == "台湾省"
    assert provinces["810000"] == "香港特别行政区"
    assert provinces["820000"] == "澳门特别行政区"
    assert provinces["540000"] == "西藏自治区"


def test_all_333_prefecture_level_divisions(regions):
    prefectures = [row for code, row in regions.items()
                   if row["level"] == "city" and code not in MUNICIPAL_CITY_ROWS]
    kinds = Counter("地区" if row["name_zh"].endswith("地区") else "自治州" if row["name_zh"].endswith("自治州")
                    else "盟" if row["name_zh"].endswith("盟") else "市" for row in prefectures)
    assert kinds == {"市": 293, "自治州": 30, "地区": 7, "盟": 3}
    # every province except the municipalities, Taiwan, Hong Kong and Macao has prefectures
    with_prefectures = {row["code"][:2] for row in prefectures}
    assert with_prefectures == {code[:2] for code, row in regions.items() if row["level"] == "province"} - {
        "11", "12", "31", "50", "71", "81", "82"}


def test_municipalities_use_their_city_code(regions):
    for code, name in {"110100": "北京市", "120100": "天津市", "310100": "上海市", "500100": "重庆市"}.items():
        assert regions[code]["name_zh"] == name
        assert regions[code]["level"] == "city"


@pytest.mark.parametrize("code, name", [
    ("330100", "杭州市"), ("330200", "宁波市"), ("440300", "深圳市"), ("320500", "苏州市"), ("460300", "三沙市"),
    ("460400", "儋州市"), ("540600", "那曲市"), ("542500", "阿里地区"), ("650500", "哈密市"), ("652900", "阿克苏地区"),
    ("152900", "阿拉善盟"), ("222400", "延边朝鲜族自治州"), ("232700", "大兴安岭地区"), ("630200", "海东市"),
    ("520600", "铜仁市"), ("419001", "济源市"), ("429004", "仙桃市"), ("429021", "神农架林区"),
    ("469001", "五指山市"), ("659001", "石河子市"), ("659012", "白杨市"),
])
def test_well_known_codes(regions, code, name):
    assert regions[code]["name_zh"] == name


@pytest.mark.parametrize("code", ["371200", "330185", "330103", "330104", "133100", "710100"])
def test_abolished_or_non_standard_codes_are_absent(regions, code):
    # 莱芜市 (merged 2019), 临安市 (a district since 2017), 下城区/江干区 (merged 2021),
    # 雄安新区 and Taiwan's cities (not GB/T 2260 divisions)
    assert code not in regions


def test_hangzhou_districts(regions):
    hangzhou = {code: row["name_zh"] for code, row in regions.items() if row["parent_code"] == "330100"}
    assert hangzhou == HANGZHOU


# --- chains ----------------------------------------------------------------------------------

def _walk(nodes, depth=1):
    for node in nodes:
        yield node, depth
        yield from _walk(node.get("children", []), depth + 1)


def test_chain_codes_are_the_tours():
    assert [chain["code"] for chain in read_chains()] == CHAIN_CODES


def test_node_codes_snake_case_unique_within_chain_with_both_names():
    for chain in read_chains():
        assert chain["name_zh"] and chain["name_en"]
        codes = [node["code"] for node, _ in _walk(chain["nodes"])]
        assert len(codes) == len(set(codes)), chain["code"]
        for node, _ in _walk(chain["nodes"]):
            assert SNAKE.match(node["code"]), node
            assert node["name_zh"] and node["name_en"], node


def test_every_chain_is_a_two_level_tree():
    for chain in read_chains():
        assert len(chain["nodes"]) >= 3, chain["code"]
        for node in chain["nodes"]:
            assert len(node["children"]) >= 2, (chain["code"], node["code"])
            assert all(not child.get("children") for child in node["children"])


def test_ai_chain_has_the_nodes_named_in_the_hangzhou_measures():
    ai = next(chain for chain in read_chains() if chain["code"] == "ai")
    tree = {node["name_zh"]: {child["name_zh"] for child in node["children"]} for node in ai["nodes"]}
    assert set(tree) == {"算力", "模型", "数据", "应用"}
    assert {"高性能芯片", "高速光网络", "高性能液冷服务器", "智算中心", "国产算力设施"} <= tree["算力"]
    assert {"基础大模型", "行业大模型", "人工智能算法", "生成式多模态大模型", "模型服务（MaaS）"} <= tree["模型"]
    assert {"多模态数据集"} <= tree["数据"]
    assert {"具身智能", "智能体（Agent）"} <= tree["应用"]


# --- institutions and products ---------------------------------------------------------------

def test_institutions_cover_every_kind():
    institutions = read_institutions()
    names = [inst["name"] for inst in institutions]
    assert 18 <= len(institutions) <= 25
    assert len(names) == len(set(names))
    kinds = Counter(inst["kind"] for inst in institutions)
    assert set(kinds) == {kind.value for kind in InstitutionKind}
    assert all(inst.get("kind_other") for inst in institutions if inst["kind"] == "other")
    assert any("开发银行" in name for name in names)  # a policy bank branch
    assert any("农村商业银行" in name for name in names)
    assert any("引导基金" in name for name in names)  # a government guidance fund
    assert {"融资租赁", "供应链金融"} <= {inst.get("kind_other") for inst in institutions}
    for inst in institutions:
        assert "5550" in inst["contact"]["phone"], inst["name"]  # clearly fictional numbers
        assert inst["contact"]["email"].endswith(".example"), inst["name"]


def test_products_are_sane(products, regions):
    assert 55 <= len(products) <= 70
    keys = [(inst["name"], product["name"]) for inst, product in products]
    assert len(keys) == len(set(keys))
    for inst, product in products:
        where = (inst["name"], product["name"])
        assert product["type"] in {t.value for t in FinancingType}, where
        low, high = product["amount_wan"]
        assert 0 < low <= high and high * 10_000 <= MAX_AMOUNT_YUAN, where
        assert 2 <= product["response_days"] <= 10, where
        if product["type"] == "equity":
            assert "rate_bp" not in product and "term_months" not in product, where
        else:
            rate_low, rate_high = product["rate_bp"]
            assert 0 < rate_low <= rate_high <= 10_000, where
            limits = {"loan": (250, 1200), "guarantee": (30, 300), "insurance": (10, 500)}[product["type"]]
            assert limits[0] <= rate_low and rate_high <= limits[1], where
            term_low, term_high = product["term_months"]
            assert 0 < term_low <= term_high <= 360, where
        assert set(product.get("chains", [])) <= set(CHAIN_CODES), where
        assert set(product.get("stages", [])) <= {s.value for s in Stage}, where
        assert set(product.get("tiers", [])) <= {t.value for t in Tier}, where
        assert set(product.get("collateral", [])) <= {c.value for c in Collateral}, where
        assert all(str(code) in regions for code in product.get("regions", [])), where
    for inst in read_institutions():
        assert all(str(code) in regions for code in inst.get("regions", [])), inst["name"]


def test_product_mix_of_the_tour(products):
    by_name = {product["name"]: product for _, product in products}
    types = Counter(product["type"] for product in by_name.values())
    assert min(types.values()) >= 8 and set(types) == {t.value for t in FinancingType}
    puhui = [p for p in by_name.values() if p["type"] == "loan" and p.get("collateral") == ["credit"]
             and 330 <= p["rate_bp"][0] and p["rate_bp"][1] <= 450]
    assert puhui, "a 普惠 credit loan near 4%"
    assert any("知识产权质押" in name and by_name[name]["type"] == "loan" for name in by_name)
    assert any("供应链" in name for name in by_name)
    assert any("首台（套）" in name and by_name[name]["type"] == "insurance" for name in by_name)
    assert any("研发费用损失保险" in name for name in by_name)
    guarantees = [p for p in by_name.values() if p["type"] == "guarantee"]
    assert sum(p["rate_bp"][0] <= 100 for p in guarantees) >= len(guarantees) // 2  # fees near 1%
    equity_stages = {stage for p in by_name.values() if p["type"] == "equity" for stage in p.get("stages", [])}
    assert {"seed", "mature"} <= equity_stages  # angel to pre-IPO
    assert sum(bool(p.get("exclusive")) for p in by_name.values()) >= 5
    assert sum(not p.get("regions") for p in by_name.values()) >= 10  # some nationwide


def test_offices_and_demo_accounts_refer_to_seeded_things(regions, smes):
    offices = read_offices()
    assert {office["name"]: office["region"] for office in offices}["杭州市经济和信息化局"] == "330100"
    assert all(office["region"] in regions for office in offices)
    accounts = _read_yaml("demo_accounts.yaml")
    assert accounts["password"] == "demo-password"
    by_email = {account["email"]: account for account in accounts["accounts"]}
    assert {"sme@demo.local", "bank@demo.local", "organiser@demo.local", "admin@demo.local"} <= set(by_email)
    sme = next(e for e in smes if e["name"] == by_email["sme@demo.local"]["enterprise"])
    assert sme["chain"] == "ai" and sme["region"].startswith("3301")
    institution_names = {inst["name"]: inst["kind"] for inst in read_institutions()}
    assert institution_names[by_email["bank@demo.local"]["institution"]] == "bank"
    assert by_email["organiser@demo.local"]["office"] in {office["name"] for office in offices}


# --- demo SMEs ------------------------------------------------------------------------------

def test_credit_codes_are_valid_unique_and_match_the_region(smes, regions):
    codes = [sme["credit_code"] for sme in smes]
    assert len(codes) == len(set(codes))
    for sme in smes:
        code = sme["credit_code"]
        assert is_valid_credit_code(code), code
        assert code[:2] == "91", code
        assert code[2:8] == sme["region"], code
        assert sme["region"] in regions and regions[sme["region"]]["level"] in ("city", "district"), code


def test_demo_smes_are_plausible(smes):
    assert 280 <= len(smes) <= 320
    names = [sme["name"] for sme in smes]
    assert len(names) == len(set(names))
    nodes_by_chain = {chain["code"]: {node["code"] for node, depth in _walk(chain["nodes"]) if depth == 2}
                      for chain in read_chains()}
    for sme in smes:
        assert sme["name"].endswith("有限公司"), sme["name"]
        assert sme["stage"] in {s.value for s in Stage} and sme["industry"] in {i.value for i in Industry}
        assert set(sme["tiers"]) <= {t.value for t in Tier}
        assert sme["nodes"] and set(sme["nodes"]) <= nodes_by_chain[sme["chain"]], sme["name"]
        assert 0 < sme["employees"] < 1000 and sme["revenue_yuan"] >= 0
        size = classify_size(sme["industry"], sme["employees"], sme["revenue_yuan"], sme["total_assets_yuan"])
        assert size not in (None, SizeClass.LARGE), sme["name"]
    chains = Counter(sme["chain"] for sme in smes)
    assert chains.most_common(1)[0][0] == "ai" and set(chains) == set(CHAIN_CODES)
    hangzhou = sum(sme["region"].startswith("3301") for sme in smes)
    zhejiang = sum(sme["region"].startswith("33") for sme in smes)
    assert hangzhou > len(smes) * 0.4 and zhejiang < len(smes) * 0.9
    top_industries = {industry for industry, _ in Counter(sme["industry"] for sme in smes).most_common(2)}
    assert top_industries == {"manufacturing", "software_it"}


def test_needs_are_plausible(smes):
    total = 0
    for sme in smes:
        assert 1 <= len(sme["needs"]) <= 3, sme["name"]
        keys = [(need["type"], need["amount_yuan"], need["purpose"]) for need in sme["needs"]]
        assert len(keys) == len(set(keys)), sme["name"]
        for need in sme["needs"]:
            total += 1
            amount = need["amount_yuan"]
            assert amount > 0 and amount <= MAX_AMOUNT_YUAN, sme["name"]
            assert need["purpose"], sme["name"]
            assert set(need["collateral"]) <= {c.value for c in Collateral}
            if need["type"] == "loan":
                assert 500_000 <= amount <= 50_000_000, sme["name"]
            if need["type"] == "equity":
                assert 5_000_000 <= amount <= 100_000_000 and need["term_months"] is None, sme["name"]
            else:
                assert 0 < need["term_months"] <= 360, sme["name"]
    assert 500 <= total <= 700


def test_generator_reproduces_the_committed_file():
    expected = generate_demo_smes.OUTPUT.read_text(encoding="utf-8")
    assert generate_demo_smes.render(generate_demo_smes.generate()) == expected
