"""Size classes by 《中小企业划型标准规定》(工信部联企业〔2011〕300号), at and around each threshold."""
import pytest

from market.enums import SizeClass
from market.sizing import classify_size, measures_needed

WAN = 10_000
LARGE, MEDIUM, SMALL, MICRO = SizeClass.LARGE, SizeClass.MEDIUM, SizeClass.SMALL, SizeClass.MICRO


@pytest.mark.parametrize("employees, revenue_wan, expected", [
    # 工业: 1000 人 / 40000 万元 (SME ceiling), medium 300 人 且 2000 万元, small 20 人 且 300 万元
    (1000, 40000, LARGE), (5000, 100000, LARGE),
    (999, 40000, MEDIUM), (1000, 39999.99, MEDIUM), (999, 39999.99, MEDIUM),
    (300, 2000, MEDIUM), (299, 2000, SMALL), (300, 1999.99, SMALL), (2000, 1999.99, SMALL),
    (20, 300, SMALL), (19, 300, MICRO), (20, 299.99, MICRO), (500, 299.99, MICRO),
    (0, 0, MICRO),
])
def test_manufacturing(employees, revenue_wan, expected):
    assert classify_size("manufacturing", employees, round(revenue_wan * WAN)) == expected


@pytest.mark.parametrize("employees, revenue_wan, expected", [
    # 软件和信息技术服务业: 300 人 / 10000 万元, medium 100 人 且 1000 万元, small 10 人 且 50 万元
    (300, 10000, LARGE), (299, 10000, MEDIUM), (300, 9999.99, MEDIUM),
    (100, 1000, MEDIUM), (99, 1000, SMALL), (100, 999.99, SMALL),
    (10, 50, SMALL), (9, 50, MICRO), (10, 49.99, MICRO), (9, 5000, MICRO),
])
def test_software_it(employees, revenue_wan, expected):
    assert classify_size("software_it", employees, round(revenue_wan * WAN)) == expected


@pytest.mark.parametrize("employees, revenue_wan, expected", [
    # 零售业: 300 人 / 20000 万元, medium 50 人 且 500 万元, small 10 人 且 100 万元
    (300, 20000, LARGE), (299, 20000, MEDIUM), (300, 19999.99, MEDIUM),
    (50, 500, MEDIUM), (49, 500, SMALL), (50, 499.99, SMALL),
    (10, 100, SMALL), (9, 100, MICRO), (10, 99.99, MICRO),
])
def test_retail(employees, revenue_wan, expected):
    assert classify_size("retail", employees, round(revenue_wan * WAN)) == expected


@pytest.mark.parametrize("revenue_wan, assets_wan, expected", [
    # 建筑业: 营业收入 80000 万元 / 资产总额 80000 万元, medium 6000 且 5000, small 300 且 300
    (80000, 80000, LARGE), (79999.99, 80000, MEDIUM), (80000, 79999.99, MEDIUM),
    (6000, 5000, MEDIUM), (5999.99, 5000, SMALL), (6000, 4999.99, SMALL),
    (300, 300, SMALL), (299.99, 300, MICRO), (300, 299.99, MICRO), (0, 0, MICRO),
])
def test_construction_uses_assets(revenue_wan, assets_wan, expected):
    assert classify_size("construction", 5000, round(revenue_wan * WAN), round(assets_wan * WAN)) == expected


def test_construction_without_assets_is_unknown():
    assert "assets" in measures_needed("construction")
    assert classify_size("construction", 50, 1000 * WAN, None) is None


def test_employees_do_not_matter_for_construction():
    assert classify_size("construction", 0, 6000 * WAN, 5000 * WAN) == MEDIUM
    assert classify_size("construction", 100_000, 299 * WAN, 300 * WAN) == MICRO


@pytest.mark.parametrize("employees, expected", [
    # 其他未列明行业: 300 人, medium 100 人, small 10 人
    (300, LARGE), (299, MEDIUM), (100, MEDIUM), (99, SMALL), (10, SMALL), (9, MICRO), (0, MICRO),
])
def test_other_industries_by_employees_only(employees, expected):
    assert classify_size("other", employees, None) == expected
    assert classify_size("other", employees, 10**12) == expected


def test_assets_not_needed_where_the_rule_does_not_use_them():
    assert classify_size("manufacturing", 50, 500 * WAN, None) == SMALL
