"""Synthetic but well-formed guideline repositories for benchmarks.

    python bench/generate.py OUT --rules 1000 --cases 10000 [--seed 1]

OUT gets schema/ (copied), guidelines/ (facts, subjects, topics, references, one value set,
N rules) and tests/cases/ (M cases). About a fifth of the rules derive facts, in chains of
depth 2 and 3 (a depth-3 fact is derived from a depth-2 fact, itself derived from a depth-1
fact); the rest recommend, reading base and derived facts. As in real guidelines, a few facts
are read by many rules and most by few (popularity falls as 1 / rank ** ZIPF).

A case is one patient: it gives between CASE_FACTS[0] and CASE_FACTS[1] facts (its indication
and treatment status among them), drawn from the base facts its indication's rules and the
general rules read, the popular ones more often. The real fixtures give 6 facts (median) to 25.
`--heavy-cases` writes cases as version 3 did instead: about GIVEN_SHARE of every base fact,
never more than MAX_FACTS (the case schema allows 250), some 100-200 facts and 3 KB a file at
5,000 rules, for measuring how reading scales with the size of a case.

Rules are gated as the real ones are (96 of the 107 real rules test the treatment status or the
indication in every alternative): most test `treatment_status`, and all but a few general ones
(GENERAL_RULES) apply to one indication, its topic; a repository of N rules covers about
N / RULES_PER_TOPIC indications, and a case is one patient with one indication. So what one
patient triggers stays bounded as the repository grows, as in the real content (8 % of the rules
fire for a real case, 63 % are false, 29 % undecided).

The result passes `guideline validate` with no error (unused-fact and unsatisfiable-rule
warnings aside), so every timing measures the real path. The same seed always writes the same
repository, and its parameters are recorded in OUT/.generated (bench/run.py regenerates a
repository made by another version of this script).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import shutil
from pathlib import Path
from typing import Any

import yaml

MAIN = Path(__file__).resolve().parents[1]
#: About this many rules per indication (topic); at least MIN_TOPICS indications.
RULES_PER_TOPIC = 50
MIN_TOPICS = 4
#: Rules that apply whatever the indication (the real ones: TPMT, pregnancy, interactions).
GENERAL_RULES = 40
STATUSES = ["planned", "taking", "stopped"]
ACTIONS = ["avoid", "start", "caution", "consider", "counsel", "order_test", "dose"]
#: Each subject is only ever the subject of one kind of action, so no two rules disagree (E-CONFLICT)
#: and none suppresses another: the timings then measure evaluation, not a repository validate refuses.
SUBJECTS = [f"{action.replace('_', '-')}-{k}" for action in ACTIONS for k in range(2)]
WORDS = [f"drug-{i}" for i in range(12)]
CATEGORY_VALUES = ["low", "mid", "high"]
#: How many facts a patient's case gives, its indication and treatment status included.
CASE_FACTS = (6, 40)
#: With --heavy-cases (version 3's cases): the case schema allows 250 facts; a case gives at most this many.
MAX_FACTS = 200
#: With --heavy-cases: a case gives about this share of the base facts while that stays under MAX_FACTS.
GIVEN_SHARE = 0.5
#: Fact popularity falls as 1 / rank ** ZIPF within each kind (numbers, categories, flags).
ZIPF = 0.8
#: Bumped whenever the same seed and sizes would write different files.
VERSION = 4


class Shape:
    """How many facts of each kind a repository of `rules` rules gets, their names and how often rules read them."""

    def __init__(self, rules: int) -> None:
        self.topics = [f"topic-{i:03d}" for i in range(max(MIN_TOPICS, rules // RULES_PER_TOPIC))]
        base = max(8, rules // 25)
        self.numbers = [f"num_{i:03d}" for i in range(base)]
        self.categories = [f"cat_{i:03d}" for i in range(max(4, base // 2))]
        self.flags = [f"flag_{i:03d}" for i in range(max(4, base // 2))]
        self.lists = ["medicines"]
        derived = max(3, rules // 25)
        self.depth = {1: [f"d1_{i:03d}" for i in range(derived)],
                      2: [f"d2_{i:03d}" for i in range(max(1, derived // 2))],
                      3: [f"d3_{i:03d}" for i in range(max(1, derived // 4))]}
        self.popularity = {name: 1 / (rank + 1) ** ZIPF
                           for kind in (self.numbers, self.categories, self.flags) for rank, name in enumerate(kind)}
        self.popularity["medicines"] = 1.0
        self._cumulative = {id(kind): list(itertools.accumulate(self.popularity[n] for n in kind))
                            for kind in (self.numbers, self.categories, self.flags)}

    @property
    def derived(self) -> list[str]:
        return [name for level in (1, 2, 3) for name in self.depth[level]]

    @property
    def base(self) -> list[str]:
        """The facts a case may give, in the order a case file lists them."""
        return [*self.numbers, *self.categories, *self.flags, *self.lists]

    def pick(self, chance: random.Random, kind: list[str]) -> str:
        """A fact of one kind, the popular ones more often (as in real guidelines: a few facts are read by
        most rules, most facts by one or two)."""
        return chance.choices(kind, cum_weights=self._cumulative[id(kind)])[0]


def facts_of(shape: Shape) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for name in shape.numbers:
        facts[name] = {"label": name, "type": "number", "unit": "1", "range": {"min": 0, "max": 100},
                       "description": "A synthetic measurement."}
    for name in shape.categories:
        facts[name] = {"label": name, "type": "category", "description": "A synthetic category.",
                       "values": {v: v for v in CATEGORY_VALUES}}
    for name in shape.flags:
        facts[name] = {"label": name, "type": "boolean", "description": "A synthetic yes/no."}
    facts["medicines"] = {"label": "medicines", "type": "list", "description": "Synthetic medicines."}
    facts["indication"] = {"label": "indication", "type": "category", "description": "What the patient is treated for.",
                           "values": {t: t for t in shape.topics}}
    facts["treatment_status"] = {"label": "treatment status", "type": "category", "description": "Where treatment is.",
                                 "values": {v: v for v in STATUSES}}
    for name in shape.derived:
        facts[name] = {"label": name, "type": "boolean", "derived": True, "description": "Set by rules."}
    return facts


def leaf(chance: random.Random, shape: Shape) -> dict[str, Any]:
    kind = chance.choices(["number", "category", "flag", "list", "known"], weights=[5, 3, 2, 1, 1])[0]
    if kind == "number":
        op = chance.choice(["below", "at_most", "above", "at_least"])
        return {"fact": shape.pick(chance, shape.numbers), op: chance.randint(5, 95)}
    if kind == "category":
        if chance.random() < 0.5:
            return {"fact": shape.pick(chance, shape.categories), "equals": chance.choice(CATEGORY_VALUES)}
        return {"fact": shape.pick(chance, shape.categories), "one_of": chance.sample(CATEGORY_VALUES, 2)}
    if kind == "flag":
        return {"fact": shape.pick(chance, shape.flags), "equals": chance.random() < 0.5}
    if kind == "list":
        return {"fact": "medicines", "contains": chance.choice(WORDS)}
    return {"fact": shape.pick(chance, shape.numbers), chance.choice(["known", "unknown"]): True}


def gates(chance: random.Random, topic: str | None) -> list[dict[str, Any]]:
    """The tests a rule is gated by: its indication (unless general), and mostly a treatment status."""
    found = [{"fact": "indication", "equals": topic}] if topic else []
    if chance.random() < 0.75:
        found.append({"fact": "treatment_status", "equals": chance.choice(STATUSES)} if chance.random() < 0.6
                     else {"fact": "treatment_status", "one_of": chance.sample(STATUSES, 2)})
    return found


def condition(chance: random.Random, shape: Shape, reads: list[str], topic: str | None = None) -> dict[str, Any]:
    """1-3 leaves under all/any, sometimes a `not`, behind the rule's gates; `reads` are derived facts
    that must be tested true."""
    body = _body(chance, shape, reads)
    found = gates(chance, topic)
    return {"all": [*found, body]} if found else body


def _body(chance: random.Random, shape: Shape, reads: list[str]) -> dict[str, Any]:
    items: list[dict[str, Any]] = [{"fact": name, "equals": True} for name in reads]
    items += [leaf(chance, shape) for _ in range(chance.randint(1, 3 - len(reads) if len(reads) < 3 else 1))]
    if len(items) == 1:
        return items[0]
    if chance.random() < 0.2:
        items[-1] = {"not": items[-1]}
    group = "all" if reads or chance.random() < 0.7 else "any"
    return {group: items}


def rule(rule_id: str, topic: str, when: dict[str, Any], then: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": rule_id, "version": "1.0.0", "status": "active", "title": f"Synthetic rule {rule_id}",
        "topic": topic, "when": when, "then": then, "rationale": "Synthetic, for benchmarks.",
        "citations": [{"ref": "bench-reference", "locator": "section 1"}],
        "evidence": {"certainty": "not_graded", "scheme": "none"},
        "review": {"authors": ["Benchmark"], "approved": "2026-01-01", "next_review": "2099-01-01"},
        "changelog": [{"version": "1.0.0", "date": "2026-01-01", "change": "Generated"}],
    }


def topic_of_fact(shape: Shape, name: str) -> str:
    """Derived facts belong to an indication, in turn (a chain stays within one indication)."""
    return shape.topics[int(name[3:]) % len(shape.topics)]


def derive_rules(chance: random.Random, shape: Shape) -> list[dict[str, Any]]:
    found = []
    for level in (1, 2, 3):
        for name in shape.depth[level]:
            topic = topic_of_fact(shape, name)
            below = [d for d in shape.depth.get(level - 1, []) if topic_of_fact(shape, d) == topic]
            reads = [chance.choice(below or shape.depth[level - 1])] if level > 1 else []
            found.append((name, topic, condition(chance, shape, reads, topic)))
    found.sort(key=lambda item: (item[1], item[0]))  # ids in indication order, as real ids go by topic
    return [rule(f"BEN-D{i:05d}", topic, when, [{"action": "derive", "fact": name}])
            for i, (name, topic, when) in enumerate(found)]


def recommendation(chance: random.Random) -> dict[str, Any]:
    action = chance.choice(ACTIONS)
    subject = f"{action.replace('_', '-')}-{chance.randint(0, 1)}"
    base: dict[str, Any] = {"action": action, "subject": subject, "strength": "not_graded", "text": "Synthetic."}
    if action == "dose":
        base["dose"] = {"min": 1, "max": 2, "unit": "mg/kg/day"}
    return base


def recommend_rules(chance: random.Random, shape: Shape, count: int) -> list[dict[str, Any]]:
    found = []
    general = min(GENERAL_RULES, count // 4)
    for i in range(count):
        # Ids in indication order: the general rules first, then each indication's rules together.
        topic = None if i < general else shape.topics[(i - general) * len(shape.topics) // max(1, count - general)]
        mine = [d for d in shape.derived if topic and topic_of_fact(shape, d) == topic]
        reads = [chance.choice(mine)] if mine and chance.random() < 0.3 else []
        found.append(rule(f"BEN-R{i:05d}", topic or shape.topics[i % len(shape.topics)],
                          condition(chance, shape, reads, topic), [recommendation(chance)]))
    return found


def facts_read(node: Any) -> set[str]:
    """Every fact a condition tests."""
    if isinstance(node, list):
        return set().union(*(facts_read(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found = {node["fact"]} if "fact" in node else set()
    return found.union(*(facts_read(node[key]) for key in ("all", "any", "not") if key in node))


def indication_of(data: dict[str, Any]) -> str | None:
    """The indication a rule is gated by, or None for a general rule."""
    tests = data["when"].get("all", [])
    return next((t["equals"] for t in tests if t.get("fact") == "indication"), None)


def topic_reads(shape: Shape, rules: list[dict[str, Any]]) -> dict[str, list[str]]:
    """For each indication, the base facts its own rules and the general rules read, in case-file order."""
    general: set[str] = set()
    own: dict[str, set[str]] = {topic: set() for topic in shape.topics}
    for data in rules:
        topic = indication_of(data)
        (own[topic] if topic else general).update(facts_read(data["when"]))
    return {topic: [name for name in shape.base if name in own[topic] or name in general] for topic in shape.topics}


def given_facts(chance: random.Random, shape: Shape, count: int, names: list[str]) -> list[str]:
    """`count` of `names` (all of them if fewer), in their order.

    A weighted sample without replacement (Efraimidis and Spirakis: the largest u ** (1 / weight)),
    so that a patient has the facts most rules read more often than the rare ones, as real records do.
    """
    keys = {name: chance.random() ** (1 / shape.popularity[name]) for name in names}
    chosen = set(heapq.nlargest(count, names, key=keys.__getitem__))
    return [name for name in names if name in chosen]


def heavy_count(chance: random.Random, shape: Shape, most: int) -> int:
    """Version 3's case size: about GIVEN_SHARE of every base fact, never more than `most`."""
    return min(most, sum(chance.random() < GIVEN_SHARE for _ in shape.base))


def value(chance: random.Random, name: str) -> Any:
    if name.startswith("num_"):
        return round(chance.uniform(0, 100), 1)
    if name.startswith("cat_"):
        return chance.choice(CATEGORY_VALUES)
    if name.startswith("flag_"):
        return chance.random() < 0.5
    return chance.sample(WORDS, chance.randint(0, 4))


def case(chance: random.Random, shape: Shape, number: int, reads: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Case `number`: a patient's worth of the facts its indication's rules read, or with no `reads`
    a version 3 heavy case (a share of every base fact)."""
    topic = case_topic(shape, number)
    gated = {"indication": topic, "treatment_status": chance.choice(STATUSES)}
    if reads is None:
        names = given_facts(chance, shape, heavy_count(chance, shape, MAX_FACTS - len(gated)), shape.base)
    else:
        names = given_facts(chance, shape, chance.randint(*CASE_FACTS) - len(gated), reads[topic])
    facts = {**gated, **{name: value(chance, name) for name in names}}
    return {"id": f"case-{number:06d}", "title": f"Synthetic patient {number}", "facts": facts}


def case_topic(shape: Shape, number: int) -> str:
    return shape.topics[number % len(shape.topics)]


#: libyaml's emitter when PyYAML has it: the same text as the pure-Python one, about seven times faster.
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def case_text(data: dict[str, Any]) -> str:
    """A case as `yaml.safe_dump(data, sort_keys=False, width=100)` writes it, some fifty times faster:
    50,000 cases are most of a big repository's generation time. Only the shapes `case` makes."""
    lines = [f"id: {data['id']}", f"title: {data['title']}"]
    facts: dict[str, Any] = data["facts"]
    lines.append("facts:" if facts else "facts: {}")
    for name, given in facts.items():
        if isinstance(given, list):
            lines += [f"  {name}:", *(f"  - {word}" for word in given)] if given else [f"  {name}: []"]
        else:
            lines.append(f"  {name}: {_scalar(given)}")
    return "\n".join(lines) + "\n"


def _scalar(given: bool | float | str) -> str:
    if isinstance(given, bool):
        return "true" if given else "false"
    return repr(given) if isinstance(given, float) else given


def write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(data, Dumper=DUMPER, sort_keys=False, width=100), "utf-8")


def generate(out: Path, rules: int, cases: int, seed: int = 1, heavy_cases: bool = False) -> Path:
    """Write the repository; returns its root."""
    chance = random.Random(seed)
    shape = Shape(rules)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(MAIN / "schema", out / "schema")
    g = out / "guidelines"
    write(g / "facts.yaml", {"facts": facts_of(shape)})
    write(g / "subjects.yaml", {"subjects": {s: {"label": s, "kind": "drug"} for s in SUBJECTS}})
    write(g / "topics.yaml", {"topics": {t: {"title": t, "description": "Synthetic."} for t in shape.topics}})
    write(g / "references.yaml", {"references": {"bench-reference": {
        "kind": "guideline", "title": "Synthetic", "authors": ["Benchmark"], "year": 2026}}})
    derives = derive_rules(chance, shape)
    every_rule = [*derives, *recommend_rules(chance, shape, max(0, rules - len(derives)))]
    for data in every_rule:
        write(g / "rules" / data["topic"] / f"{data['id']}.yaml", data)
    reads = None if heavy_cases else topic_reads(shape, every_rule)
    for topic in shape.topics:
        (out / "tests" / "cases" / topic).mkdir(parents=True)
    for number in range(cases):
        path = out / "tests" / "cases" / case_topic(shape, number) / f"case-{number:06d}.yaml"
        path.write_text(case_text(case(chance, shape, number, reads)), "utf-8")
    (out / ".generated").write_text(stamp(rules, cases, seed, heavy_cases), "utf-8")
    return out


def stamp(rules: int, cases: int, seed: int, heavy_cases: bool = False) -> str:
    """What OUT/.generated says: which version of this script wrote the repository, and with what."""
    heavy = " --heavy-cases" if heavy_cases else ""
    return f"bench/generate.py version {VERSION}: --rules {rules} --cases {cases} --seed {seed}{heavy}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--heavy-cases", action="store_true",
                        help="cases as version 3 wrote them: about half of every base fact (up to 200) instead of 6-40")
    args = parser.parse_args()
    print(generate(args.out, args.rules, args.cases, args.seed, args.heavy_cases))


if __name__ == "__main__":
    main()
