"""Reporters for case runs and coverage: text for people, JSON for machines. They format; they never print."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from engine.cases import STATUSES, CaseOutcome, by_topic, counts, succeeded
from engine.coverage import Coverage
from engine.errors import Problem
from engine.report import dumps


def summary_line(outcomes: Sequence[CaseOutcome]) -> str:
    """`PASS: n/total`, with what else happened when anything did."""
    found = counts(outcomes)
    line = f"PASS: {found['pass']}/{len(outcomes)}"
    others = [f"{found[s]} {s}" for s in ("fail", "error", "skip") if found[s]]
    return f"{line} ({', '.join(others)})" if others else line


def outcomes_text(outcomes: Sequence[CaseOutcome], *, verbose: bool = False) -> str:
    """Each failing, erroring (and with verbose, every) case, then the per-topic table and summary."""
    shown = [o for o in outcomes if verbose or o.status in ("fail", "error")]
    blocks = [_outcome_block(o) + "\n" for o in shown]  # a blank line after each case reads easier
    return "\n".join([*blocks, topic_table(outcomes), summary_line(outcomes)])


def _outcome_block(outcome: CaseOutcome) -> str:
    lines = [f"{outcome.status.upper()} {outcome.path} ({outcome.case_id})"]
    lines += [f"  - {m}" for m in outcome.messages]
    if outcome.diff:
        lines.append(textwrap.indent(outcome.diff, "    "))
    return "\n".join(lines)


def topic_table(outcomes: Sequence[CaseOutcome]) -> str:
    rows = [(topic, *(str(c[s]) for s in STATUSES)) for topic, c in by_topic(outcomes).items()]
    total = counts(outcomes)
    rows.append(("total", *(str(total[s]) for s in STATUSES)))
    return _table(("topic", *STATUSES), rows)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        first = row[0].ljust(widths[0])
        return "  ".join([first, *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))])

    return "\n".join([line(header), *(line(r) for r in rows)])


def outcomes_json(outcomes: Sequence[CaseOutcome], coverage: Coverage | None = None, message: str = "",
                  problems: Sequence[Problem] = ()) -> str:
    """The run for machines: top-level status, counts, per-topic counts, every case's outcome."""
    items = "".join(case_json(o, first=i == 0) for i, o in enumerate(outcomes))
    return JSON_HEAD + items + json_tail(outcomes, coverage, message, problems)


#: The JSON document of a run is `dumps(body)`, and "cases" is its first key (keys are sorted), so
#: it can be written in three parts: this head, each case as it finishes, then json_tail. A big run
#: then never holds every case's result at once (a result's JSON is ~200 KB at 1,000 rules).
JSON_HEAD = '{\n  "cases": ['


def case_json(outcome: CaseOutcome, *, first: bool) -> str:
    """One case of the "cases" list, indented as dumps indents it there."""
    return ("" if first else ",") + "\n    " + outcome.as_json().replace("\n", "\n    ")


def json_tail(outcomes: Sequence[CaseOutcome], coverage: Coverage | None = None, message: str = "",
              problems: Sequence[Problem] = ()) -> str:
    """The end of the "cases" list and every other key (`outcomes` may be slim: only statuses are read)."""
    ok = succeeded(outcomes) and not (coverage and coverage.gaps) and not problems
    body: dict[str, Any] = {
        "status": "pass" if ok else "fail",
        "total": len(outcomes),
        "counts": counts(outcomes),
        "topics": by_topic(outcomes),
        "summary": summary_line(outcomes),
    }
    if coverage is not None:
        body["coverage"] = coverage.as_dict()
    if message:
        body["message"] = message
    if problems:  # files outside the cases that could not be read (rules, dictionaries)
        body["problems"] = [p.as_dict() for p in problems]
    rest = dumps(body)  # "{\n  ...": the other keys, all sorting after "cases"
    return ("\n  ]," if outcomes else "],") + "\n" + rest.removeprefix("{\n")


def coverage_text(coverage: Coverage) -> str:
    """The per-rule table, then each broken gate on its own line."""
    rows = [(r.rule, str(r.fired), str(r.near_missed), f"{r.boundaries_covered}/{r.boundaries_total}")
            for r in coverage.rules]
    table = _table(("rule", "fired in", "near-missed in", "boundaries"), rows)
    if not coverage.gaps:
        return f"{table}\nCOVERAGE: every gate passes ({len(coverage.rules)} active rules, {coverage.cases} cases)"
    return "\n".join([table, f"COVERAGE: {len(coverage.gaps)} gap(s):", *coverage.gaps])


def coverage_json(coverage: Coverage) -> str:
    return dumps(coverage.as_dict())
