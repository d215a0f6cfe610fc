"""The dashboard page and the Excel downloads, through the routes."""
import json
import re
from html import unescape
from io import BytesIO
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from tests.conftest import sign_in
from tests.events.reports.world import EXPECTED_HANGZHOU, HANGZHOU_NEED_AMOUNTS, HANGZHOU_SPLIT, build_world


@pytest.fixture
def world(app):
    with app.app_context():
        return build_world()


def embedded_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert match, "no embedded chart data"
    return json.loads(match.group(1))


def test_dashboard_shows_the_funnel_in_tables_and_chart_data(client, world):
    sign_in(client, world.emails["hangzhou"])
    response = client.get("/reports/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for stage, (enterprises, needs, _amount) in EXPECTED_HANGZHOU.items():
        row = re.search(rf'<tr id="stage-{stage}".*?</tr>', html, re.S).group(0)
        values = re.findall(r'data-value="(\d+)"', row)
        split = [str(part) for part in HANGZHOU_SPLIT.get(stage, ())]
        assert values == [str(enterprises), str(needs), str(HANGZHOU_NEED_AMOUNTS[stage])] + split
    data = embedded_data(html)
    assert [item["enterprises"] for item in data["funnel"]] == [v[0] for v in EXPECTED_HANGZHOU.values()]
    assert "static/vendor/echarts/echarts.min.js" in html and "js/report-charts.js" in html
    assert "cdn" not in html.lower()
    assert "西湖区" in html and "测试杭城银行" in html
    assert "2025年3月 · 人工智能产业链 · 宁波" not in unescape(html)  # out of reach: not even in the event list
    assert "宁波机器人有限公司" not in unescape(html)


def test_dashboard_filters_and_refusals(client, world):
    sign_in(client, world.emails["admin"])
    html = client.get(f"/reports/?event={world.ids['event_b']}").get_data(as_text=True)
    assert re.search(r'<tr id="stage-registered".*?data-value="1"', html, re.S)
    bad = client.get("/reports/?year=1999&region=999999")
    assert bad.status_code == 200
    text = bad.get_data(as_text=True)
    assert "请输入 2024 到 2100 之间的年份。" in text and "未知的行政区划代码。" in text
    assert 'id="report-data"' not in text


def test_an_out_of_reach_event_is_not_found(client, world):
    sign_in(client, world.emails["ningbo"])
    assert client.get(f"/reports/?event={world.ids['event_a']}").status_code == 404
    assert client.get(f"/reports/export/outcomes.xlsx?event={world.ids['event_a']}").status_code == 404


def test_participants_and_anonymous_users_are_kept_out(client, world):
    assert client.get("/reports/").status_code == 302
    assert client.get("/reports/export/registrations.xlsx").status_code == 302


def workbook_of(response):
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(BytesIO(response.data))


def download_name(response) -> str:
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    match = re.search(r"filename\*=UTF-8''([^;]+)", disposition)
    assert match, disposition
    return unquote(match.group(1))


def test_outcomes_summary_matches_the_dashboard(client, world):
    sign_in(client, world.emails["hangzhou"])
    response = client.get("/reports/export/outcomes.xlsx")
    assert download_name(response).startswith("对接成效汇总表_") and download_name(response).endswith(".xlsx")
    sheet = workbook_of(response).active
    assert sheet.freeze_panes == "A3"
    assert "对接成效汇总表" in sheet["A1"].value and "A1:R1" in [str(r) for r in sheet.merged_cells.ranges]
    headers = [cell.value for cell in sheet[2]]
    assert headers == ["序号", "企业名称", "统一社会信用代码", "地区", "产业链环节", "融资类型", "对接环节", "需求金额(万元)",
                       "对接机构", "是否会谈", "意向金额(万元)", "授信/签约/出单/担保金额(万元)", "放款/资金到位(万元)",
                       "保费(万元)", "数据确认", "企业自报授信/签约(万元，未计入)", "企业自报放款/到位(万元，未计入)", "备注"]
    assert all(cell.font.bold for cell in sheet[2])
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]
    data, totals = rows[:-1], rows[-1]
    assert len(data) == 4  # M1, M2, M3 (no-show), M6: proposals, cancellations and Ningbo left out
    assert totals[0] == "合计" and sheet.cell(row=sheet.max_row, column=1).font.bold
    wan = lambda yuan: yuan / 10_000  # noqa: E731
    assert float(totals[7]) == wan(EXPECTED_HANGZHOU["matched"][2])
    assert float(totals[10]) == wan(EXPECTED_HANGZHOU["intent"][2])
    assert float(totals[11]) == wan(EXPECTED_HANGZHOU["credit"][2])
    assert float(totals[12]) == wan(EXPECTED_HANGZHOU["disbursed"][2])
    by_institution = {(row[1], row[8]): row for row in data}
    m1 = by_institution[("西湖智算科技有限公司", "测试杭城银行")]
    assert m1[3] == "杭州市西湖区" and m1[9] == "是" and float(m1[10]) == 400.0  # the institution's figure
    assert m1[6] == "意向 → 授信 → 放款" and m1[14] == "已确认"
    assert "机构：首笔已放款" in m1[17] and "企业：已提交材料" in m1[17]
    equity = by_institution[("西湖智算科技有限公司", "测试产业基金")]
    assert equity[6] == "意向 → 签署投资协议 → 资金到位" and equity[14] == "仅企业填报（未经机构确认）"
    no_show = by_institution[("滨江视觉科技有限公司", "测试杭城银行")]
    assert no_show[9] == "否" and "未到场" in no_show[17]
    assert workbook_of(response).sheetnames == ["对接成效汇总表", "活动汇总", "分类型成效", "数据异议"]
    assert sheet.column_dimensions["B"].width >= 20


def test_registrations_export(client, world):
    sign_in(client, world.emails["admin"])
    response = client.get(f"/reports/export/registrations.xlsx?event={world.ids['event_a']}")
    assert download_name(response) == "报名汇总表_2025年3月_人工智能产业链_杭州.xlsx"
    assert 'filename="registrations.xlsx"' in response.headers["Content-Disposition"]
    workbook = workbook_of(response)
    sheet = workbook["企业报名"]
    assert [cell.value for cell in sheet[2]] == ["序号", "企业名称", "统一社会信用代码", "所在地区", "产业链", "融资类型",
                                                "需求金额(万元)", "报名场次", "状态", "报名时间"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]
    assert len(rows) == 6  # E1 twice, E2, E3 (pending), E6, and the totals
    assert {row[8] for row in rows[:-1]} == {"已通过", "待审核"}
    assert float(rows[-1][6]) == 2_800  # approved needs, each once: N1 + N1b + N2 (万元)
    institutions = workbook["机构报名"]
    assert institutions.cell(row=3, column=2).value == "测试杭城银行"


def test_schedule_export(client, world):
    sign_in(client, world.emails["admin"])
    response = client.get(f"/reports/export/schedule.xlsx?event={world.ids['event_a']}")
    assert download_name(response).startswith("对接日程表_")
    sheet = workbook_of(response).active
    assert [cell.value for cell in sheet[2]] == ["场次", "时段", "桌号", "企业", "机构", "产品", "匹配度", "状态"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]
    assert len(rows) == 5  # M1, M2, M3 and the proposal (the schedule shows proposals); cancelled left out; totals
    first = rows[0]
    assert first[0] == "信贷融资对接会" and first[1] == "03-10 09:00–09:20" and first[2] == "第 01 桌"
    assert float(first[6]) == pytest.approx(0.8)
    assert sheet.cell(row=3, column=7).number_format == "0.0%"
