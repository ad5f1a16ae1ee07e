"""Cases never leak into each other; results are byte-identical across orders and processes."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

from engine_kit import act, case, derive, fact, guidelines, rule

from engine.evaluate import Evaluator
from engine.model import Case

RULES = [
    rule("AZA-C-001", fact("wbc", below=3), derive("severe_cytopenia")),
    rule("AZA-C-002", fact("severe_cytopenia", equals=True), act("hold")),
    rule("AZA-C-003", {"all": [fact("severe_cytopenia", equals=False), fact("tpmt_status", equals="normal")]},
         act("start"), act("dose", dose={"min": 2, "max": 2.5, "unit": "mg/kg/day"})),
    rule("AZA-C-004", fact("tpmt_status", one_of=["intermediate", "absent"]), act("avoid")),
    rule("AZA-C-005", fact("medications", contains={"valueset": "xanthine-oxidase-inhibitors"}), act("caution")),
    rule("AZA-C-006", fact("alt", above={"times": 3, "of": "alt_baseline"}), act("stop")),
]


def random_case(rng: random.Random, index: int) -> Case:
    pool = {
        "wbc": lambda: round(rng.uniform(0.5, 12), 1),
        "tpmt_status": lambda: rng.choice(["normal", "intermediate", "absent"]),
        "weight": lambda: float(rng.randint(30, 120)),
        "medications": lambda: rng.sample(["allopurinol", "prednisolone", "mesalazine"], rng.randint(0, 2)),
        "alt": lambda: float(rng.randint(5, 400)),
        "alt_baseline": lambda: float(rng.randint(5, 60)),
    }
    chosen = {name: make() for name, make in pool.items() if rng.random() < 0.7}
    return case(f"case-{index}", **chosen)


def dumped(results: list[dict[str, object]]) -> str:
    return json.dumps(results, sort_keys=True, ensure_ascii=False)


def test_a_shuffled_batch_gives_the_same_results_as_each_case_alone() -> None:
    rng = random.Random(11)
    cases = [random_case(rng, i) for i in range(60)]
    alone = {c.id: Evaluator(guidelines(*RULES)).evaluate(c, explain=True).as_dict() for c in cases}
    shared = Evaluator(guidelines(*RULES))
    shuffled = cases[:]
    rng.shuffle(shuffled)
    together = {c.id: shared.evaluate(c, explain=True).as_dict() for c in shuffled}
    assert together == alone


def test_more_than_two_thousand_cases_run_in_one_process() -> None:
    # durable_rules allows 1,024 live sessions per ruleset: this fails if sessions are not deleted.
    evaluator = Evaluator(guidelines(*RULES))
    rng = random.Random(5)
    seen_actions: set[str] = set()
    for i in range(2_100):
        result = evaluator.evaluate(random_case(rng, i))
        seen_actions |= {r.action for r in result.recommendations}
    assert seen_actions >= {"hold", "start", "dose", "avoid", "caution", "stop"}


SCRIPT = """
import json, random, sys
sys.path.insert(0, {tests!r})
from test_engine_isolation import RULES, random_case, dumped
from engine_kit import guidelines
from engine.evaluate import Evaluator
rng = random.Random(3)
cases = [random_case(rng, i) for i in range(40)]
print(dumped([Evaluator(guidelines(*RULES)).evaluate(c, explain=True).as_dict() for c in cases]))
"""


def test_results_are_byte_identical_across_processes() -> None:
    rng = random.Random(3)
    cases = [random_case(rng, i) for i in range(40)]
    here = dumped([Evaluator(guidelines(*RULES)).evaluate(c, explain=True).as_dict() for c in cases])
    tests = str(Path(__file__).parent)
    outputs = set()
    for seed in ("1", "2"):  # different hash seeds change set and dict-of-set orders
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", SCRIPT.format(tests=tests)], capture_output=True,
                              text=True, env=env, timeout=120, check=True)
        outputs.add(done.stdout.strip())
    assert outputs == {here}


def test_threads_sharing_one_evaluator_get_the_same_results_as_one_thread() -> None:
    # One live durable session at a time (a lock): actions of one case never land in another's.
    from concurrent.futures import ThreadPoolExecutor

    rng = random.Random(9)
    cases = [random_case(rng, i) for i in range(200)]
    evaluator = Evaluator(guidelines(*RULES))
    serial = [evaluator.evaluate(c).as_dict() for c in cases]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda c: evaluator.evaluate(c).as_dict(), cases))
    assert parallel == serial
