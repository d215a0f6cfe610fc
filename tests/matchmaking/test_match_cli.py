"""`chainmatch match` and `chainmatch bench match` through click's CliRunner (and once via -m)."""
import copy
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chainmatch.match_commands import bench_group, match_command
from matchmaking import InputError, limits

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


# --- limits: absurd or oversized input is refused before anything is allocated -----------------

TOO_BIG = [
    (("needs", 0, "amount"), 10**40, ['needs[0] (id "n1")', "amount", "at most 100,000,000,000"]),
    (("needs", 0, "amount"), 1e300, ['needs[0] (id "n1")', "amount", "at most"]),
    (("products", 0, "amount_max"), 10**12, ['products[0] (id "p1")', "amount_max", "at most"]),
    (("slots",), 1_000_000_000, ["instance", "slots", "between 1 and 1,440", "1000000000"]),
    (("slots",), 10**40, ["instance", "slots", "1,440"]),
    (("institutions", 0, "tables"), 1_000_000, ['institutions[0] (id "b1")', "tables", "at most 500"]),
    (("institutions", 0, "max_meetings"), 10**40,
     ['institutions[0] (id "b1")', "max_meetings", "at most 2,147,483,647"]),
    (("enterprises", 0, "max_meetings"), 2**31, ['enterprises[0] (id "e1")', "max_meetings", "at most"]),
    (("needs", 0, "term_months"), 10**30, ['needs[0] (id "n1")', "term_months", "at most"]),
    (("products", 0, "rate_max_bp"), 10**20, ['products[0] (id "p1")', "rate_max_bp", "at most"]),
    (("enterprises", 1, "unavailable"), [10**40], ['enterprises[1] (id "e2")', "unavailable"]),
]


@pytest.mark.parametrize("path, value, fragments", TOO_BIG,
                         ids=[".".join(map(str, b[0])) + "=" + repr(b[1])[:12] for b in TOO_BIG])
def test_numbers_beyond_the_maxima_exit_2_naming_the_field(tmp_path, path, value, fragments):
    result, out = run_match(tmp_path, mutate(path, value))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert len(result.stderr) < 300 and not out.exists()


DEEP = "[" * 100_000


@pytest.mark.parametrize("text", [DEEP, '{"slots": ' + "[" * 100_000 + "]" * 100_000 + "}",
                                  '{"slots": 3, "x": ' + "{\"a\": " * 65 + "1" + "}" * 65 + "}"])
def test_deep_nesting_exits_2_before_parsing(tmp_path, text):
    result, out = run_match(tmp_path, text=text)
    assert result.exit_code == 2 and result.exception.__class__ is SystemExit, result.output
    assert "more than 64 levels deep" in result.stderr and "in.json" in result.stderr
    assert not out.exists()


def test_deep_nesting_on_standard_input_exits_2():
    result = CliRunner().invoke(match_command, ["-"], input=DEEP)
    assert result.exit_code == 2 and "<stdin>: the input nests" in result.stderr


def test_nesting_within_the_limit_and_brackets_in_strings_are_fine(tmp_path):
    doc = copy.deepcopy(GOOD)
    doc["extra"] = json.loads("[" * 60 + "]" * 60)
    doc["enterprises"][0]["name"] = '[[[[ \\" {{{{' * 40
    result, _ = run_match(tmp_path, doc)
    assert result.exit_code == 0, result.output


def test_json_depth_counts_structure_not_strings():
    from matchmaking.jsonio import json_depth
    assert json_depth(b"") == 0 and json_depth(b"1") == 0
    assert json_depth(b'{"a": [1, {"b": []}]}') == 4
    assert json_depth(b'{"a": "[[[{{\\"[[", "b\\\\": ["]"]}') == 2
    assert json_depth(("[" * 5000).encode()) == 5000


@pytest.mark.parametrize("text, fragment", [
    ('{"slots": NaN}', "NaN is not a number"),
    ('{"slots": 3, "needs": [{"amount": Infinity}]}', "Infinity is not a number"),
    ('{"slots": ' + "9" * 5000 + "}", "too many digits"),
])
def test_nan_infinity_and_endless_integers_exit_2(tmp_path, text, fragment):
    result, _ = run_match(tmp_path, text=text)
    assert result.exit_code == 2 and fragment in result.stderr, result.output


def test_an_input_above_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr("matchmaking.jsonio.MAX_INPUT_BYTES", 1000)
    result, out = run_match(tmp_path, GOOD | {"padding": "x" * 2000})
    assert result.exit_code == 2 and "more than 1,000 bytes" in result.stderr
    assert not out.exists()


def test_too_many_records_exit_2(tmp_path, monkeypatch):
    monkeypatch.setitem(limits.MAX_RECORDS, "enterprises", 1)
    result, _ = run_match(tmp_path, GOOD)
    assert result.exit_code == 2
    assert "instance: enterprises holds 2 records, more than the 1 the matcher takes" in result.stderr


def test_library_callers_get_input_error_not_overflow_or_memory_error():
    from matchmaking import Enterprise, Instance, Institution, Need, Product, plan_meetings, recommend
    base = Instance(3, (Enterprise("e1", "330106", "C1", "growth"),), (Need("n1", "e1", "loan", 10**6),),
                    (Institution("b1", "bank"),), (Product("p1", "b1", "loan", 0, 10**7),))
    cases = [
        (dataclasses.replace(base, slots=10**9), "slots"),
        (dataclasses.replace(base, needs=(Need("n1", "e1", "loan", 10**40),)), "amount"),
        (dataclasses.replace(base, products=(Product("p1", "b1", "loan", 0, 10**40),)), "amount_max"),
        (dataclasses.replace(base, institutions=(Institution("b1", "bank", tables=10**9),)), "tables"),
        (dataclasses.replace(base, enterprises=(Enterprise("e1", "330106", "C1", "growth",
                                                           max_meetings=10**40),)), "max_meetings"),
    ]
    for instance, field in cases:
        for call in (plan_meetings, lambda inst: recommend(inst, "e1")):
            with pytest.raises(InputError) as caught:
                call(instance)
            assert caught.value.field == field, caught.value


def test_the_engine_limits_agree_with_the_platform_columns():
    from events.models import EventSession
    from market.fields import INT_MAX
    from market.models import MAX_AMOUNT_YUAN
    assert limits.MAX_AMOUNT_YUAN == MAX_AMOUNT_YUAN
    assert limits.MAX_COUNT == INT_MAX
    checks = [str(c.sqltext) for c in EventSession.__table__.constraints if hasattr(c, "sqltext")]
    assert f"tables <= {limits.MAX_TABLES}" in " ".join(checks)


def test_bench_seed_out_of_range_exits_2():
    result = CliRunner().invoke(bench_group, ["match", "--size", "tiny", "--seed", "-1"])
    assert result.exit_code == 2 and "--seed" in result.output


# --- fuzz: every field of the input with hostile values answers 0 or 2, never a traceback ------

HOSTILE = ["NaN", "Infinity", "-Infinity", "1e999999999", "-1e999999999", "1e25", "1" + "0" * 40,
           str(2**31), str(2**63), str(-(2**63) - 1), "-1", "0.5", "true", "null", '""', '"\\u0000"',
           '"' + "x" * 5_000 + '"', "[]", "{}", "[" * 60 + "]" * 60, "[" * 70 + "]" * 70, '["\\u0000", 1e400]']


def _leaf_paths(value, path=()):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaf_paths(inner, (*path, key))
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for index, inner in enumerate(value):
            yield from _leaf_paths(inner, (*path, index))
    else:
        yield path


def test_hostile_values_in_every_field_exit_0_or_2(tmp_path):
    failures = []
    for path in _leaf_paths(GOOD):
        for literal in HOSTILE:
            text = json.dumps(mutate(path, "\uE000")).replace('"\uE000"', literal)
            result, _ = run_match(tmp_path, text=text)
            if result.exit_code not in (0, 2) or result.exception.__class__ not in (type(None), SystemExit):
                failures.append((path, literal[:20], result.exit_code, repr(result.exception)[:120]))
            elif result.exit_code == 2 and (not result.stderr.startswith("error: ") or len(result.stderr) > 400):
                failures.append((path, literal[:20], "message", result.stderr[:120]))
    assert not failures, failures
