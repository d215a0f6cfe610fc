"""The project's own Python sources, for the static checks: every package pyproject.toml ships."""
import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def project_packages() -> list[str]:
    """Top-level packages of the distribution (pyproject's `packages` list): a new one is checked too."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names = config["tool"]["setuptools"]["packages"]
    return sorted({name.split(".")[0] for name in names})


@dataclass(frozen=True)
class Source:
    path: str   # relative to the repository root, as shown in failures
    tree: ast.Module


def project_sources() -> list[Source]:
    sources = []
    for package in project_packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            sources.append(Source(relative, ast.parse(path.read_text(encoding="utf-8"), filename=relative)))
    return sources
