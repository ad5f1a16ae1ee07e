"""Reporters for `guideline diff`: text for people, JSON for machines, Markdown for a pull-request comment."""

from __future__ import annotations

from typing import Any

from engine.diff import DiffReport, RuleDiff, ValueSetDiff
from engine.impact import Impact
from engine.report import dumps

MAX_CASES_SHOWN = 30


def _version(rule: RuleDiff) -> str:
    if rule.old_version and rule.new_version and rule.old_version != rule.new_version:
        return f"{rule.old_version} → {rule.new_version}"
    return rule.new_version or rule.old_version or ""


def _headline(report: DiffReport) -> str:
    counts = {k: sum(r.kind == k for r in report.rules) for k in ("added", "changed", "deprecated", "retired",
                                                                   "removed")}
    parts = [f"{n} {kind}" for kind, n in counts.items() if n]
    sets = f"; {len(report.valuesets)} value set(s) changed" if report.valuesets else ""
    return (f"Compared with {report.base} ({report.commit[:10]}): " + (", ".join(parts) or "no rule changed")
            + sets + ".")


def _valueset_line(change: ValueSetDiff) -> str:
    parts = [f"added {', '.join(change.added)}" if change.added else "",
             f"removed {', '.join(change.removed)}" if change.removed else ""]
    readers = ", ".join(change.rules) or "no active rule"
    return f"value set {change.name}: {'; '.join(p for p in parts if p)} (read by {readers})"


def _case_line(impact: Impact, index: int) -> str:
    case = impact.cases[index]
    parts = [*(f"gains {x}" for x in case.gained), *(f"loses {x}" for x in case.lost),
             *(f"{x}" for x in case.changed)]
    return f"{case.case_id} ({case.path}): " + "; ".join(parts)


def diff_text(report: DiffReport) -> str:
    lines = [_headline(report), ""]
    for rule in report.rules:
        lines.append(f"{rule.rule_id} {_version(rule)}  {rule.kind}  {rule.path}")
        lines += [f"  - {c.what}" for c in rule.changes]
    lines += [_valueset_line(v) for v in report.valuesets]
    if report.impact is not None:
        lines.append("\n" + _impact_headline(report.impact))
        lines += [f"  {s}" for s in report.impact.summary()]
        lines += [f"  {_case_line(report.impact, i)}" for i in range(min(len(report.impact.cases),
                                                                          MAX_CASES_SHOWN))]
        lines += [f"note: {n}" for n in report.impact.notes]
    lines += [f"note: {n}" for n in report.notes]
    lines.append("")
    lines += [str(p) for p in sorted(report.problems, key=lambda p: (p.location, p.code))]
    errors = sum(p.severity == "error" for p in report.problems)
    lines.append(f"{errors} version discipline problem(s)." if errors else "Version discipline: OK.")
    return "\n".join(lines).lstrip("\n")


def _impact_headline(impact: Impact) -> str:
    if not impact.evaluated:
        return "Impact on cases: no case could be run on both sides."
    if not impact.cases:
        return f"Impact on cases: none of {impact.evaluated} cases changes its recommendations."
    return f"Impact on cases: {len(impact.cases)} of {impact.evaluated} cases change their recommendations:"


def diff_json(report: DiffReport) -> str:
    body: dict[str, Any] = {
        "status": "fail" if report.failed else "ok",
        "base": report.base,
        "commit": report.commit,
        "rules": [{"id": r.rule_id, "kind": r.kind, "title": r.title, "path": r.path,
                   "old_version": r.old_version, "new_version": r.new_version,
                   "changes": [{"what": c.what, "needs": c.level} for c in r.changes]} for r in report.rules],
        "valuesets": [{"name": v.name, "added": list(v.added), "removed": list(v.removed), "rules": list(v.rules)}
                      for v in report.valuesets],
        "problems": [p.as_dict() for p in sorted(report.problems, key=lambda p: (p.location, p.code))],
        "notes": list(report.notes),
        "impact": None if report.impact is None else {
            "evaluated": report.impact.evaluated,
            "summary": report.impact.summary(),
            "cases": [{"id": c.case_id, "path": c.path, "gained": list(c.gained), "lost": list(c.lost),
                       "changed": list(c.changed)} for c in report.impact.cases],
            "notes": list(report.impact.notes),
        },
    }
    return dumps(body)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (and never rendered as HTML)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def diff_markdown(report: DiffReport) -> str:
    status = "❌ version discipline broken" if report.failed else "✅ version discipline OK"
    lines = [f"### Guideline changes compared with `{report.base}` ({report.commit[:10]})", "",
             f"{_headline(report)} {status}.", ""]
    if report.rules:
        lines += ["| Rule | Version | Change | What changed |", "|---|---|---|---|"]
        lines += [f"| `{r.rule_id}` {_cell(r.title)} | {_version(r)} | {r.kind} | "
                  f"{'<br>'.join(_cell(c.what) for c in r.changes) or '—'} |" for r in report.rules]
        lines.append("")
    if report.valuesets:
        lines += [f"- {_cell(_valueset_line(v))}" for v in report.valuesets] + [""]
    if report.problems:
        lines += ["#### Version discipline", ""]
        lines += [f"- `{p.location}` {_cell(p.message)} `[{p.code}]`" for p in report.problems]
        lines.append("")
    if report.impact is not None:
        lines += _impact_markdown(report.impact)
    if report.notes:
        lines += ["<details><summary>Notes</summary>", ""] + [f"- {_cell(n)}" for n in report.notes]
        lines += ["", "</details>"]
    return "\n".join(lines).rstrip() + "\n"


def _impact_markdown(impact: Impact) -> list[str]:
    lines = ["#### Impact on patient cases", "", _impact_headline(impact), ""]
    lines += [f"- {_cell(s)}" for s in impact.summary()]
    if impact.cases:
        lines += ["", "<details><summary>Cases</summary>", "", "| Case | Gains | Loses | Changes |",
                  "|---|---|---|---|"]
        for case in impact.cases[:MAX_CASES_SHOWN]:
            cells = ["<br>".join(_cell(x) for x in items) or "—" for items in (case.gained, case.lost,
                                                                              case.changed)]
            lines.append(f"| `{case.case_id}` | " + " | ".join(cells) + " |")
        if len(impact.cases) > MAX_CASES_SHOWN:
            lines.append(f"\n…and {len(impact.cases) - MAX_CASES_SHOWN} more (see the text report).")
        lines += ["", "</details>"]
    lines += [f"- note: {_cell(n)}" for n in impact.notes]
    lines.append("")
    return lines
