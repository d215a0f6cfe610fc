"""`chainmatch bench match`: generate instances, time the engine end to end, compare.

For each size the generated instance is written to a JSON file first (untimed); a fresh
Python process then reads it, plans and writes the plan (`python -m matchmaking.bench
--child IN OUT`), reporting its own read→write time and peak RSS (getrusage), so each size's
memory peak is its own. The parent then measures, outside the timing:
- the coverage bound: a plain max-flow on the eligibility graph with every enterprise capped
  at one meeting (OR-Tools SimpleMaxFlow), the most enterprises any plan could cover; and the
  same bound once the accepted requests are kept (they rank first in the objective);
- a first-come-first-served baseline: enterprises in input order each take their best-scored
  eligible institutions that still have room, up to their own cap.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from ortools.graph.python import max_flow

from .candidates import candidate_arcs
from .columns import Columns
from .engine import plan_meetings
from .jsonio import dumps_plan, instance_from_dict, load_instance, write_atomic
from .synthetic import SIZES, generate

DEFAULT_SIZES = ("small", "event")
TARGETS = {"event": (3.0, 1024), "national": (20.0, 3072)}  # seconds, MiB


def coverage_bound(cols: Columns, ent: np.ndarray, inst: np.ndarray,
                   accepted: np.ndarray | None = None) -> int:
    """Most enterprises that can each get one meeting: max-flow with enterprise cap 1.

    With `accepted` (a mask of the arcs whose request was accepted, all fitting the caps),
    those meetings are kept first, as the objective ranks them: the bound under that rule.
    """
    ok = (cols.ent_cap[ent] > 0) & (cols.inst_cap[inst] > 0)
    ent, inst = ent[ok], inst[ok]
    inst_cap = cols.inst_cap
    fixed = 0
    if accepted is not None:
        accepted = accepted[ok]
        inst_cap = inst_cap - np.bincount(inst[accepted], minlength=cols.n_inst)
        done = np.zeros(cols.n_ent, dtype=bool)
        done[ent[accepted]] = True
        fixed = int(done.sum())
        keep = ~accepted & ~done[ent]
        ent, inst = ent[keep], inst[keep]
    if len(ent) == 0:
        return fixed
    n_e, n_i = cols.n_ent, cols.n_inst
    source, sink = n_e + n_i, n_e + n_i + 1
    ents = np.unique(ent)
    tails = np.concatenate([np.full(len(ents), source), ent, n_e + np.arange(n_i)])
    heads = np.concatenate([ents, n_e + inst, np.full(n_i, sink)])
    caps = np.concatenate([np.ones(len(ents) + len(ent), dtype=np.int64), inst_cap])
    solver = max_flow.SimpleMaxFlow()
    solver.add_arcs_with_capacity(tails.astype(np.int64), heads.astype(np.int64),
                                  caps.astype(np.int64))
    if solver.solve(source, sink) != solver.OPTIMAL:
        raise RuntimeError("max-flow bound failed")
    return fixed + int(solver.optimal_flow())


def first_come_first_served(cols: Columns, ent: np.ndarray, inst: np.ndarray,
                            milli: np.ndarray) -> tuple[int, int, int]:
    """(covered enterprises, meetings, total score in thousandths) of the greedy baseline."""
    order = np.lexsort((-milli, ent))
    room = cols.inst_cap.copy().tolist()
    left = cols.ent_cap.copy().tolist()
    covered = meetings = total = 0
    last = -1
    for e, i, s in zip(ent[order].tolist(), inst[order].tolist(), milli[order].tolist()):
        if left[e] > 0 and room[i] > 0:
            left[e] -= 1
            room[i] -= 1
            meetings += 1
            total += s
            if e != last:
                covered += 1
                last = e
    return covered, meetings, total


def child(input_path: str, output_path: str) -> dict:
    """Read → plan → write, as `chainmatch match` does; report time and peak RSS."""
    start = time.perf_counter()
    plan = plan_meetings(load_instance(input_path))
    write_atomic(output_path, dumps_plan(plan))
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": round(seconds, 3), "peak_rss_mib": round(peak_mib, 1),
            "covered": plan.stats["covered_enterprises"], "meetings": plan.stats["meetings"],
            "total_score": plan.stats["total_score"], "unplaced": plan.stats["unplaced"],
            "phases": plan.stats["seconds"]}


def run_size(size: str, seed: int, workdir: Path) -> dict:
    """Benchmark one size; return its figures."""
    doc = generate(size, seed)
    input_path, output_path = workdir / f"{size}-input.json", workdir / f"{size}-plan.json"
    input_path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "matchmaking.bench", "--child",
                           str(input_path), str(output_path)],
                          capture_output=True, text=True, env=env, check=False)
    process_seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed for {size}:\n{proc.stderr}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])

    cols = Columns(instance_from_dict(doc))
    arcs = candidate_arcs(cols)
    arcs = arcs.take(np.flatnonzero(arcs.usable))
    bound = coverage_bound(cols, arcs.ent, arcs.inst)
    fits = (np.all(np.bincount(arcs.ent[arcs.accepted], minlength=cols.n_ent) <= cols.ent_cap)
            and np.all(np.bincount(arcs.inst[arcs.accepted], minlength=cols.n_inst)
                       <= cols.inst_cap))
    bound_accepted = coverage_bound(cols, arcs.ent, arcs.inst, arcs.accepted) if fits else None
    base_cov, base_meet, base_milli = first_come_first_served(cols, arcs.ent, arcs.inst,
                                                              arcs.milli)
    n_ent, n_inst, slots = SIZES[size]
    figures.update({
        "size": size, "enterprises": n_ent, "institutions": n_inst, "slots": slots,
        "process_seconds": round(process_seconds, 3), "coverage_bound": bound,
        "coverage_bound_keeping_accepted": bound_accepted,
        "candidate_pairs": int(len(arcs.ent)),
        "baseline_covered": base_cov, "baseline_meetings": base_meet,
        "baseline_total_score": base_milli / 1000,
    })
    target = TARGETS.get(size)
    if target:
        figures["target_seconds"], figures["target_rss_mib"] = target
        figures["meets_target"] = (figures["seconds"] <= target[0]
                                   and figures["peak_rss_mib"] <= target[1])
    return figures


def run(sizes, seed: int = 1, keep: str | None = None) -> list[dict]:
    """Benchmark each size in turn (inputs and plans go to `keep` or a temporary folder)."""
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        return [run_size(size, seed, Path(keep)) for size in sizes]
    with tempfile.TemporaryDirectory(prefix="chainmatch-bench-") as tmp:
        return [run_size(size, seed, Path(tmp)) for size in sizes]


def format_row(r: dict) -> str:
    """One human-readable line of figures."""
    kept = ""
    if r.get("coverage_bound_keeping_accepted") not in (None, r["coverage_bound"]):
        kept = f", {r['coverage_bound_keeping_accepted']:,} keeping accepted requests"
    target = ""
    if "meets_target" in r:
        target = (f"  target ≤{r['target_seconds']:g}s ≤{r['target_rss_mib']:g}MiB: "
                  + ("met" if r["meets_target"] else "MISSED"))
    return (f"{r['size']:>8}: {r['enterprises']:,} SMEs × {r['institutions']:,} institutions × "
            f"{r['slots']} slots | {r['seconds']:.2f}s read→write ({r['process_seconds']:.2f}s "
            f"with start-up), peak RSS {r['peak_rss_mib']:.0f} MiB | covered {r['covered']:,} / "
            f"bound {r['coverage_bound']:,}{kept} (FCFS {r['baseline_covered']:,}) | meetings "
            f"{r['meetings']:,} (FCFS {r['baseline_meetings']:,}) | score {r['total_score']:,.1f}"
            f" vs FCFS {r['baseline_total_score']:,.1f}{target}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
    else:
        for row in run(sys.argv[1:] or DEFAULT_SIZES):
            print(format_row(row))
