"""The real repository against the targets of issue #8, measured side by side in one run.

    python bench/real.py [--repeat 5]

Prints a table: per-case evaluation (median and p99 of every case in tests/cases, median of
--repeat passes, each on a new evaluator as `guideline test` sees the cases, and again with
every case seen before); our evaluate path against raw durable_rules asserting the same compiled
rulesets, against a plain-Python evaluation and against experta, as ratios from one run;
`guideline test --coverage` (both cores), and the README's main command (validate, cases with
coverage, site build) as wall times, each the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import MAIN
from bench.run import child_run, engines, machine, normalised
from engine.errors import Location
from engine.evaluate import Evaluator
from engine.facts import normalize_facts
from engine.model import Case
from engine.repository import load_repository

GUIDELINE = [sys.executable, "-m", "engine"]
MAIN_COMMAND = (["validate"], ["test", "--coverage"], ["site", "build"])


def latency(fresh: Callable[[], Evaluator], cases: tuple[Case, ...], repeat: int) -> tuple[float, float, float]:
    """Median and p99 wall milliseconds per case, and median CPU milliseconds (this process only, so
    less disturbed by other work on a shared machine): each pass times every case once on a new
    evaluator, as `guideline test` sees them (its remembered decisions start empty; the rulesets
    stay registered); medians over passes."""
    medians, p99s, cpu = [], [], []
    for _ in range(repeat):
        evaluator = fresh()
        each, each_cpu = [], []
        for item in cases:
            started, started_cpu = time.perf_counter(), time.thread_time()
            evaluator.evaluate(item)
            each.append(time.perf_counter() - started)
            each_cpu.append(time.thread_time() - started_cpu)
        each.sort()
        medians.append(statistics.median(each))
        p99s.append(each[min(len(each) - 1, int(len(each) * 0.99))])
        cpu.append(statistics.median(each_cpu))
    return statistics.median(medians) * 1e3, statistics.median(p99s) * 1e3, statistics.median(cpu) * 1e3


def phases(evaluator: Evaluator, cases: tuple[Case, ...], repeat: int) -> dict[str, float]:
    """Median microseconds a case in each phase of an evaluation: facts normalised, forward chaining
    (our part), durable_rules sessions, and building the result."""
    spent = [0.0]
    runtime = evaluator.runtime
    real_run = runtime.run

    def timed(ruleset: Any, properties: Any) -> Any:
        started = time.perf_counter()
        try:
            return real_run(ruleset, properties)
        finally:
            spent[0] += time.perf_counter() - started

    runtime.run = timed  # type: ignore[method-assign]
    found: dict[str, list[float]] = {"normalise": [], "chaining (ours)": [], "durable_rules": [], "result": []}
    try:
        for _ in range(repeat):
            for item in cases:
                here = Location(item.id)
                start = time.perf_counter()
                values, _problems = normalize_facts(item.facts, evaluator.guidelines.facts, lambda _p, here=here: here)
                chained, spent[0] = time.perf_counter(), 0.0
                run = evaluator.chain(values)
                built = time.perf_counter()
                evaluator.result(item.id, run, False)
                done = time.perf_counter()
                found["normalise"].append(chained - start)
                found["chaining (ours)"].append(built - chained - spent[0])
                found["durable_rules"].append(spent[0])
                found["result"].append(done - built)
    finally:
        runtime.run = real_run  # type: ignore[method-assign]
    return {name: statistics.median(times) * 1e6 for name, times in found.items()}


def wall(commands: tuple[list[str], ...], repeat: int) -> float:
    """Median wall seconds of running the commands one after the other (each must succeed)."""
    runs = []
    for _ in range(repeat):
        total = 0.0
        for command in commands:
            seconds, _peak, code = child_run([*GUIDELINE, *command, "--repo", str(MAIN)], 600, 8)
            if code != 0:
                raise SystemExit(f"`guideline {' '.join(command)}` exited with {code}; fix that first")
            total += seconds
        runs.append(total)
    return statistics.median(runs)


def measure(repeat: int) -> dict[str, Any]:
    loaded = load_repository(MAIN)
    evaluator = Evaluator(loaded.guidelines)
    cases = loaded.cases
    for item in cases:  # warm: every ruleset registered, every code path imported
        evaluator.evaluate(item)
    found: dict[str, Any] = {"rules": len(loaded.guidelines.active_rules), "cases": len(cases)}
    found["median_ms"], found["p99_ms"], found["cpu_ms"] = latency(lambda: Evaluator(loaded.guidelines), cases, repeat)
    found["again_ms"] = latency(lambda: evaluator, cases, repeat)[0]
    found["phases"] = phases(evaluator, cases, repeat)
    found["engines"] = engines(loaded, cases, normalised(cases, loaded), repeat)
    found["test_s"] = wall((["test", "--coverage"],), repeat)
    found["main_s"] = wall(MAIN_COMMAND, repeat)
    return found


def table(found: dict[str, Any]) -> str:
    rate = found["engines"]
    ours = rate["ours"]

    def ratio(name: str) -> str:
        value = rate[name]
        return f"{value:,.0f} cases/s (ours ×{ours / value:,.2f})" if isinstance(value, float) else str(value)

    rows = [
        ("median evaluation per case, wall", f"{found['median_ms']:.3f} ms (p99 {found['p99_ms']:.3f} ms)",
         "≤ 0.5 ms", found["median_ms"] <= 0.5),
        ("median evaluation per case, CPU of this thread", f"{found['cpu_ms']:.3f} ms", "", None),
        ("the same, every case seen before (decisions remembered)", f"{found['again_ms']:.3f} ms", "reported", None),
        ("ours, whole result", f"{ours:,.0f} cases/s", "", None),
        ("raw durable_rules, same rulesets", ratio("durable"), "ours within 1.5× of it",
         isinstance(rate["durable"], float) and rate["durable"] / ours <= 1.5),
        ("raw durable_rules through its Python API (actions in Python)", ratio("durable-host"), "reported", None),
        ("plain Python (the oracle)", ratio("plain"), "reported", None),
        ("experta", ratio("experta"), "ours ≥ 5× faster",
         isinstance(rate["experta"], float) and ours / rate["experta"] >= 5),
        ("durable agrees with plain Python on every rule of every case", str(rate["agree"]), "True",
         rate["agree"] is True),
        ("`guideline test --coverage`, all real cases", f"{found['test_s']:.1f} s", "≤ 5 s", found["test_s"] <= 5),
        ("main command: validate + test --coverage + site build", f"{found['main_s']:.1f} s", "≤ 30 s",
         found["main_s"] <= 30),
    ]
    lines = [f"{found['rules']} active rules, {found['cases']} cases", "",
             "| measure | result | target | met? |", "|---|---:|---|---|"]
    for name, result, target, met in rows:
        lines.append(f"| {name} | {result} | {target} | {'' if met is None else 'yes' if met else '**no**'} |")
    lines += ["", "| phase of one evaluation | median µs |", "|---|---:|"]
    lines += [f"| {name} | {micro:,.0f} |" for name, micro in found["phases"].items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="passes per timing; the median is shown")
    args = parser.parse_args()
    found = measure(args.repeat)
    print(f"Machine: {machine()}\nCommand: {' '.join(sys.argv)}\n")
    print(table(found))


if __name__ == "__main__":
    main()
