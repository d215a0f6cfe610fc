"""Policies put into words for the detail page: the conditions as an indented outline."""
from __future__ import annotations

from dataclasses import dataclass

from policies.rules import AllOf, Compare, Condition, Library, NotOf
from policies.text import Text

ALL = Text("同时满足以下各项", "All of the following")
ANY = Text("满足以下任一项", "Any of the following")
NOT = Text("不满足以下条件", "Not the following")


@dataclass(frozen=True)
class OutlineLine:
    depth: int
    text: Text
    cite: str | None = None


def _compare_text(node: Compare, library: Library) -> Text:
    if node.label:
        return node.label
    spec = library.facts[node.fact]
    return Text(f"{spec.label.zh}（{node.op} {node.value}）", f"{spec.label.en} ({node.op} {node.value})")


def condition_outline(node: Condition | None, library: Library, depth: int = 0) -> list[OutlineLine]:
    """One line per condition, children indented; a labelled group is one line with its parts below."""
    if node is None:
        return []
    if isinstance(node, Compare):
        return [OutlineLine(depth, _compare_text(node, library), node.cite)]
    if isinstance(node, NotOf):
        return [OutlineLine(depth, node.label or NOT)] + condition_outline(node.item, library, depth + 1)
    head = node.label or (ALL if isinstance(node, AllOf) else ANY)
    if isinstance(node, AllOf) and node.label is None and depth == 0:
        lines: list[OutlineLine] = []  # the usual "all of" at the top reads as a plain list
        for item in node.items:
            lines += condition_outline(item, library, depth)
        return lines
    lines = [OutlineLine(depth, head)]
    for item in node.items:
        lines += condition_outline(item, library, depth + 1)
    return lines


