"""`chainmatch match` and `chainmatch bench match` through click's CliRunner (and once via -m)."""
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chainmatch.match_commands import bench_group, match_command

GOOD = {
    "slots": 3,
    "enterprises": [
        {"id": "e1", "region": "330106", "chain": "C1", "stage": "growth", "tiers": []},
        {"id": "e2", "region": "330201", "chain": "C1", "stage": "startup",
         "tiers": ["high_tech"], "max_meetings": 2, "unavailable": [0], "nodes": ["C1-N1"],
         "name": "某科技"},
    ],
    "needs": [
        {"id": "n1", "enterprise": "e1", "type": "loan", "amount": 1000000, "term_months": 12},
        {"id": "n2", "enterprise": "e2", "type": "equity", "amount": 5e6,
         "collateral": ["ip"], "purpose": "R&D"},
    ],
    "institutions": [
        {"id": "b1", "kind": "bank", "tables": 2},
        {"id": "v1", "kind": "investor", "max_meetings": 5, "unavailable": [2]},
    ],
    "products": [
        {"id": "p1", "institution": "b1", "type": "loan", "amount_min": 100000,
         "amount_max": 5000000, "regions": ["330000"], "chains": [], "stages": [], "tiers": [],
         "rate_min_bp": 345, "rate_max_bp": 420, "term_min_months": 6, "term_max_months": 36,
         "collateral": ["credit"], "is_exclusive": True},
        {"id": "p2", "institution": "v1", "type": "equity", "amount_min": 1000000,
         "amount_max": 50000000, "regions": [], "chains": ["C1"], "stages": ["startup"],
         "tiers": ["high_tech", "little_giant"], "nodes": ["C1-N1"]},
    ],
    "requests": [{"enterprise": "e2", "institution": "v1", "status": "requested",
                  "by": "enterprise"}],
}


def run_match(tmp_path, doc=None, text=None, args=()):
    source = tmp_path / "in.json"
    source.write_text(text if text is not None else json.dumps(doc), encoding="utf-8")
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(match_command, [str(source), "-o", str(out), *args])
    return result, out


def test_match_writes_a_plan(tmp_path):
    result, out = run_match(tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert {m["enterprise"] for m in plan["meetings"]} == {"e1", "e2"}
    meeting = next(m for m in plan["meetings"] if m["enterprise"] == "e2")
    assert meeting["institution"] == "v1" and meeting["slot"] == 1 and meeting["table"] == 1
    assert set(meeting) >= {"enterprise", "institution", "need", "product", "slot", "table",
                            "score", "reasons"}
    assert {"part", "zh", "en"} <= set(meeting["reasons"][0])
    assert plan["unmatched"] == [] and plan["stats"]["covered_enterprises"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_match_prints_to_stdout_without_output(tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps(GOOD), encoding="utf-8")
    result = CliRunner().invoke(match_command, [str(source)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["stats"]["meetings"] == 2


def mutate(path, value):
    doc = copy.deepcopy(GOOD)
    *parents, last = path
    target = doc
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return doc


DELETE = object()
BAD = [
    (("needs", 0, "enterprise"), "e9", ['needs[0] (id "n1")', "enterprise", "e9"]),
    (("products", 1, "institution"), "x", ['products[1] (id "p2")', "institution", '"x"']),
    (("requests", 0, "enterprise"), "zz", ["requests[0]", "enterprise", "zz"]),
    (("requests", 0, "institution"), "zz", ["requests[0]", "institution", "zz"]),
    (("enterprises", 1, "id"), "e1", ['enterprises[1] (id "e1")', "duplicates enterprises[0]"]),
    (("needs", 1, "id"), "n1", ['needs[1] (id "n1")', "duplicates needs[0]"]),
    (("institutions", 1, "id"), "b1", ['institutions[1] (id "b1")', "duplicates"]),
    (("products", 1, "id"), "p1", ['products[1] (id "p1")', "duplicates products[0]"]),
    (("products", 0, "amount_min"), 9000000,
     ['products[0] (id "p1")', "amount_min 9000000 > amount_max 5000000"]),
    (("needs", 0, "amount"), -5, ['needs[0] (id "n1")', "amount", "negative"]),
    (("products", 0, "amount_min"), -1, ['products[0] (id "p1")', "amount_min", "negative"]),
    (("needs", 0, "type"), "mortgage", ['needs[0] (id "n1")', "type", "mortgage"]),
    (("products", 1, "type"), "bond", ['products[1] (id "p2")', "type", "bond"]),
    (("slots",), 0, ["slots", "0"]),
    (("slots",), -3, ["slots", "-3"]),
    (("slots",), "3", ["slots"]),
    (("enterprises", 1, "unavailable"), [3], ['enterprises[1] (id "e2")', "unavailable", "3"]),
    (("enterprises", 0, "region"), "3301", ['enterprises[0] (id "e1")', "region"]),
    (("enterprises", 0, "stage"), "unicorn", ['enterprises[0] (id "e1")', "stage"]),
    (("needs", 0, "amount"), "lots", ['needs[0] (id "n1")', "amount"]),
    (("needs", 0, "amount"), 10.5, ['needs[0] (id "n1")', "amount"]),
    (("needs", 1, "amount"), DELETE, ['needs[1] (id "n2")', "amount is missing"]),
    (("products", 0, "regions"), "330000", ['products[0] (id "p1")', "regions"]),
    (("products", 0, "rate_min_bp"), 900,
     ['products[0] (id "p1")', "rate_min_bp 900 > rate_max_bp"]),
    (("requests", 0, "status"), "maybe", ["requests[0]", "status", "maybe"]),
    (("institutions", 0, "tables"), 0, ['institutions[0] (id "b1")', "tables"]),
    (("enterprises",), DELETE, ["enterprises is missing"]),
]


@pytest.mark.parametrize("path, value, fragments", BAD,
                         ids=[".".join(map(str, b[0])) + "=" + repr(b[1])[:12] for b in BAD])
def test_bad_input_exits_2_names_record_and_field_writes_nothing(tmp_path, path, value,
                                                                   fragments):
    result, out = run_match(tmp_path, mutate(path, value))
    assert result.exit_code == 2, result.output
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert result.stdout == ""
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in.json"]


@pytest.mark.parametrize("text, fragment", [
    ('{"slots": 3, "enterprises": [', "not valid JSON"),
    ("", "not valid JSON"),
    ('[1, 2]', "must be a JSON object"),
    ('{"slots": 3, "enterprises": [1], "needs": [], "institutions": [], "products": []}',
     "enterprises[0]"),
])
def test_malformed_json_exits_2(tmp_path, text, fragment):
    result, out = run_match(tmp_path, text=text)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert not out.exists()


def test_bad_input_leaves_an_existing_plan_alone(tmp_path):
    out = tmp_path / "plan.json"
    out.write_text("previous plan", encoding="utf-8")
    result, _ = run_match(tmp_path, mutate(("slots",), 0))
    assert result.exit_code == 2
    assert out.read_text(encoding="utf-8") == "previous plan"


def test_missing_input_file_exits_2(tmp_path):
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(match_command, [str(tmp_path / "nope.json"), "-o", str(out)])
    assert result.exit_code == 2 and "nope.json" in result.stderr
    assert not out.exists()


def test_python_dash_m_entry_point(tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps(mutate(("products", 0, "amount_min"), 9000000)))
    out = tmp_path / "plan.json"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, "-m", "chainmatch.match_commands", "match",
                           str(source), "-o", str(out)], capture_output=True, text=True,
                          env=env, cwd=root, check=False)
    assert proc.returncode == 2
    assert 'products[0] (id "p1"): amount_min 9000000 > amount_max 5000000' in proc.stderr
    assert not out.exists()


def test_bench_runs_the_tiny_size(tmp_path):
    result = CliRunner().invoke(bench_group, ["match", "--size", "tiny", "--json",
                                              "--keep", str(tmp_path)])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout.strip().splitlines()[-1])
    assert row["size"] == "tiny" and 0 < row["covered"] <= row["coverage_bound"]
    kept = row["coverage_bound_keeping_accepted"]
    assert row["covered"] <= kept <= row["coverage_bound"]
    if row["unplaced"] == 0:
        assert row["covered"] == kept
    assert row["meetings"] > 0 and row["baseline_meetings"] > 0
    assert row["peak_rss_mib"] > 0 and (tmp_path / "tiny-plan.json").exists()


def test_bench_rejects_unknown_size():
    result = CliRunner().invoke(bench_group, ["match", "--size", "galactic"])
    assert result.exit_code == 2 and "galactic" in result.output
