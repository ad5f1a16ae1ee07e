"""Does our engine decide every rule of every case as the plain-Python oracle does?

    python bench/agree.py REPO            # e.g. a repository written by bench/generate.py

Compares, case by case, each active rule's outcome (true / false / undecided) from
`Evaluator.rule_outcomes` with a plain fixpoint over the same strata using the tree-walking
Kleene oracle (bench/engines.py `Plain`). Prints how many cases agree and the first that do
not; exits 1 if any differ.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.engines import Plain
from bench.run import normalised
from engine.evaluate import Evaluator
from engine.repository import load_repository


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", type=Path)
    args = parser.parse_args()
    loaded = load_repository(args.repo)
    cases = loaded.cases
    evaluator, plain = Evaluator(loaded.guidelines), Plain(loaded.guidelines)
    started = time.perf_counter()
    differ = [case.id for case, values in zip(cases, normalised(cases, loaded), strict=True)
              if evaluator.rule_outcomes(case) != plain.outcomes(values)]
    print(f"{len(loaded.guidelines.active_rules)} rules, {len(cases)} cases: {len(cases) - len(differ)} agree "
          f"on every rule, {len(differ)} differ {differ[:5]} ({time.perf_counter() - started:.0f} s)")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
