"""House rules a test can keep: imports at module level, every port plugged, core importing nothing of ours.

The layer contracts themselves are import-linter's (pyproject.toml, run by scripts/lint); these catch what it
cannot see: an import hidden inside a function to get round a contract, and a port the shell forgot to plug.
"""
import ast
from pathlib import Path

import pytest

import events.ports
import policies.ports
from chainmatch import PROJECT_ROOT
from core.ports import Port, PortNotPlugged

OUR_PACKAGES = ("core", "accounts", "chainmatch", "market", "events", "policies", "notifications", "seeds",
                "matchmaking")
CYCLE_NOTE = "cycle:"  # a function-level import is allowed only where a comment names the cycle it breaks


def _function_level_imports(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom):
                names = [inner.module or ""] if not inner.level else ["."]
            elif isinstance(inner, ast.Import):
                names = [alias.name for alias in inner.names]
            else:
                continue
            if not any(name == "." or name.split(".")[0] in OUR_PACKAGES for name in names):
                continue
            nearby = " ".join(lines[max(0, inner.lineno - 3):inner.lineno])
            if CYCLE_NOTE not in nearby:
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{inner.lineno}")
    return sorted(set(found), key=lambda place: int(place.rsplit(':', 1)[1]))


def test_our_modules_are_imported_at_module_level():
    sources = [path for package in OUR_PACKAGES for path in sorted((PROJECT_ROOT / package).rglob("*.py"))]
    assert sources, "no sources found beside the package"
    offenders = [place for path in sources for place in _function_level_imports(path)]
    assert offenders == [], ("function-level imports of our own modules (move them to the top, or name the "
                             f"cycle in a '{CYCLE_NOTE}' comment): {offenders}")


def test_the_scan_sees_a_hidden_import(tmp_path, monkeypatch):
    module = tmp_path / "market" / "hidden.py"
    module.parent.mkdir()
    module.write_text("def f():\n    from events.models import Meeting\n    return Meeting\n\n"
                      "def g():\n    # cycle: events.x imports this module at load time\n    from events import x\n")
    monkeypatch.setattr("tests.test_house.PROJECT_ROOT", tmp_path)
    assert _function_level_imports(module) == ["market/hidden.py:2"]


def _ports() -> list[tuple[str, Port]]:
    return [(f"{module.__name__}.{name}", value) for module in (events.ports, policies.ports)
            for name, value in vars(module).items() if isinstance(value, Port)]


def test_every_port_is_plugged_by_the_app(app):
    ports = _ports()
    assert len(ports) >= 5
    assert [name for name, port in ports if not port.plugged] == []


def test_an_unplugged_port_refuses_instead_of_answering_nothing():
    port = Port("nothing")
    with pytest.raises(PortNotPlugged, match="nothing"):
        port()
    port.plug(lambda x: x * 2)
    assert port(21) == 42
