"""A Result as text a clinician reads at a glance: what not to do first, then doses, gaps, reasons."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from engine.model import GuidelineSet
from engine.result import FactValue, NeedsData, Recommendation, Result, TraceStep

_HEADINGS = {
    "stop": "STOP", "avoid": "AVOID (do not start)", "hold": "HOLD", "caution": "USE WITH CAUTION",
    "start": "START", "continue": "CONTINUE", "dose": "DOSE", "combine_with": "GIVE TOGETHER",
    "order_test": "ORDER TEST", "monitor": "MONITOR", "consider": "CONSIDER", "counsel": "TELL THE PATIENT",
}


def result_text(result: Result, g: GuidelineSet, *, title: str = "", explain: bool = False) -> str:
    lines = [f"Case {result.case_id}" + (f": {title}" if title else "")]
    lines += _recommendations(result, g)
    lines += _needs(result, g)
    lines += _suppressed(result, g)
    lines += _derived(result, g)
    if explain:
        lines += _why(result.trace, g, "Why these rules applied", _fired_line)
        lines += _why(result.near_misses, g, "Why other rules did not apply", _miss_line)
    return "\n".join(lines)


def _recommendations(result: Result, g: GuidelineSet) -> list[str]:
    if not result.recommendations:
        return ["", "No recommendation applies to this patient with the facts given."]
    open_to = {(p.rule, p.action, p.subject): p.set_aside_by for p in result.provisional}
    needs = {n.rule: n for n in result.needs_data}  # every rule that sets something aside is listed there
    lines: list[str] = []
    for action, items in groupby(result.recommendations, key=lambda r: r.action):
        lines += ["", _HEADINGS.get(action, action.upper())]
        for rec in items:
            lines += _recommendation(rec, g)
            by = open_to.get((rec.rule, rec.action, rec.subject), ())
            if by:
                lines.append(_not_final(by, needs, g))
    return lines


def _not_final(by: tuple[str, ...], needs: dict[str, NeedsData], g: GuidelineSet) -> str:
    """One line naming the undecided rules that would set a recommendation aside, and their facts."""
    facts = ", ".join(_label(f, g) for f in dict.fromkeys(f for rule_id in by for f in needs[rule_id].facts))
    who = f"{needs[by[0]].title} ({by[0]})" if len(by) == 1 else f"{len(by)} undecided rules ({', '.join(by)})"
    return (f"      NOT FINAL: {who} would set this aside if {'it applies' if len(by) == 1 else 'one applies'}; "
            f"needed: {facts}")


def _recommendation(rec: Recommendation, g: GuidelineSet) -> list[str]:
    subject = _subject(rec.subject, g)
    extra = f" with {_subject(rec.with_subject, g)}" if rec.with_subject else ""
    permanent = " (permanently)" if rec.permanent else ""
    lines = [f"  - {subject}{extra}{permanent} [{rec.strength.replace('_', ' ')}]: {rec.text}"]
    if rec.dose is not None:
        shown = _mg(rec.dose.mg_per_day) if rec.dose.mg_per_day else "no mg/day dose"
        working = f" ({rec.dose.text})" if rec.dose.text and rec.dose.text != shown else ""
        lines.append(f"      dose: {shown}{working}")
    if rec.interval or rec.duration:
        lines.append(f"      when: {', '.join(x for x in (rec.interval, rec.duration) if x)}")
    lines.append(f"      rule {rec.rule} v{rec.version}; sources: {'; '.join(rec.citations)}")
    return lines


def _needs(result: Result, g: GuidelineSet) -> list[str]:
    if not result.needs_data:
        return []
    lines = ["", "NEEDS DATA (these rules could not be decided; missing is never treated as normal)"]
    if len(result.needs_data) >= _SUMMARY_FROM:
        lines.append(f"  Most asked for: {_most_asked(result, g)}")
    for item in result.needs_data:
        facts = ", ".join(_label(f, g) for f in item.facts)
        lines.append(f"  - {item.title} ({item.rule}): give {facts}")
    return lines


#: With this many undecided rules a reader first wants to know which facts would settle most of them.
_SUMMARY_FROM = 5


def _most_asked(result: Result, g: GuidelineSet, shown: int = 5) -> str:
    """The facts the most undecided rules ask for: `current symptoms (9 rules), AST (6 rules)`."""
    counts: dict[str, int] = {}
    for item in result.needs_data:
        for name in item.facts:
            counts[name] = counts.get(name, 0) + 1
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:shown]
    return ", ".join(f"{_label(name, g)} ({count} rule{'s' if count > 1 else ''})" for name, count in ranked)


def _suppressed(result: Result, g: GuidelineSet) -> list[str]:
    if not result.suppressed:
        return []
    lines = ["", "SUPPRESSED (would apply, but another rule takes precedence)"]
    for item in result.suppressed:
        rec = item.recommendation
        lines.append(f"  - {rec.action.replace('_', ' ')} {_subject(rec.subject, g)} ({rec.rule}): {item.reason}")
    return lines


def _derived(result: Result, g: GuidelineSet) -> list[str]:
    if not result.derived:
        return []
    lines = ["", "DERIVED FACTS"]
    for name, value in result.derived.items():
        lines.append(f"  - {_label(name, g)}: {_value(value)}")
    return lines


def _why(steps: tuple[TraceStep, ...], g: GuidelineSet, heading: str, line: Any) -> list[str]:
    if not steps:
        return []
    return ["", heading.upper(), *(line(step, g) for step in steps)]


def _fired_line(step: TraceStep, g: GuidelineSet) -> str:
    facts = "; ".join(_fact(f, g) for f in step.facts)
    sets = f" -> sets {', '.join(_label(d, g) for d in step.derived)}" if step.derived else ""
    return f"  - {step.rule}: {facts}{sets}"


def _miss_line(step: TraceStep, g: GuidelineSet) -> str:
    return f"  - {step.rule}: {'; '.join(step.failed)}"


def _fact(fact: FactValue, g: GuidelineSet) -> str:
    shown = f"{_label(fact.name, g)} = {_value(fact.value)}" + (f" {fact.unit}" if fact.unit and
                                                                  fact.value is not None else "")
    return shown + (f" (derived by {', '.join(fact.derived_by)})" if fact.derived_by else "")


def _label(name: str, g: GuidelineSet) -> str:
    fact = g.facts.get(name)
    return fact.label if fact else name


def _subject(key: str | None, g: GuidelineSet) -> str:
    subject = g.subjects.get(key or "")
    return subject.label if subject else (key or "")


def _value(value: Any) -> str:
    if value is None:
        return "not given"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "none"
    return str(value).replace("_", " ")


def _mg(pair: tuple[float, float]) -> str:
    low, high = (f"{v:g}" for v in pair)
    return f"{low} mg/day" if low == high else f"{low}–{high} mg/day"
