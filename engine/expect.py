"""A case's expectations against a result: what was not met, in plain words, and a readable diff."""

from __future__ import annotations

from collections.abc import Iterator

from engine.model import Case, Expectations, Expected, GuidelineSet, facts_used
from engine.result import FactValue, Recommendation, Result, TraceStep

#: Two mg/day ranges are equal when both ends differ by less than this.
DOSE_TOLERANCE_MG = 0.01


def matches(expected: Expected, recommendation: Recommendation) -> bool:
    """True when the recommendation has every field the expectation gives."""
    if (expected.action, expected.subject) != (recommendation.action, recommendation.subject):
        return False
    if expected.rule is not None and expected.rule != recommendation.rule:
        return False
    if expected.strength is not None and expected.strength != recommendation.strength:
        return False
    return expected.dose_mg is None or _same_dose(expected.dose_mg, recommendation)


def _same_dose(wanted: tuple[float, float], recommendation: Recommendation) -> bool:
    got = recommendation.dose.mg_per_day if recommendation.dose else None
    if got is None:
        return False
    return all(abs(w - g) < DOSE_TOLERANCE_MG for w, g in zip(wanted, got, strict=True))


def unmet(expect: Expectations, result: Result) -> list[str]:
    """Every expectation the result does not meet, one plain sentence each (empty: all met)."""
    return [*_present(expect, result), *_absent(expect, result), *_suppressed(expect, result),
            *_needs_data(expect, result), *_exactly(expect, result)]


def _present(expect: Expectations, result: Result) -> Iterator[str]:
    for item in expect.present:
        if not any(matches(item, r) for r in result.recommendations):
            yield f"expected {describe_expected(item)}, but it is not recommended"


def _absent(expect: Expectations, result: Result) -> Iterator[str]:
    for item in expect.absent:
        for rec in result.recommendations:
            if matches(item, rec):
                yield f"expected no {describe_expected(item)}, but {rec.rule} recommends it"


def _suppressed(expect: Expectations, result: Result) -> Iterator[str]:
    for item in expect.suppressed:
        if not any(matches(item, s.recommendation) for s in result.suppressed):
            yield f"expected {describe_expected(item)} to be listed as suppressed, but it is not"


def _needs_data(expect: Expectations, result: Result) -> Iterator[str]:
    listed = {fact for need in result.needs_data for fact in need.facts}
    for fact in expect.needs_data:
        if fact not in listed:
            yield f"expected the result to ask for '{fact}' (needs data), but it does not"


def _exactly(expect: Expectations, result: Result) -> Iterator[str]:
    if not expect.exactly:
        return
    for rec in result.recommendations:
        if not any(matches(item, rec) for item in expect.present):
            yield (f"exactly: {rec.rule} recommends {rec.action} {rec.subject}, "
                   "which the case does not list under present")


def describe_expected(item: Expected) -> str:
    """`avoid azathioprine [AZA-TPMT-002] strong 50–100 mg/day`, with only the fields given."""
    parts = [item.action, item.subject]
    if item.rule:
        parts.append(f"[{item.rule}]")
    if item.strength:
        parts.append(item.strength)
    if item.dose_mg:
        parts.append(_mg(item.dose_mg))
    return " ".join(parts)


def describe_recommendation(rec: Recommendation) -> str:
    parts = [rec.action, rec.subject, f"[{rec.rule}]", rec.strength]
    if rec.dose and rec.dose.mg_per_day:
        parts.append(_mg(rec.dose.mg_per_day))
    elif rec.dose and rec.dose.needs:
        parts.append(f"(dose needs {', '.join(rec.dose.needs)})")
    return " ".join(parts)


def _mg(pair: tuple[float, float]) -> str:
    return f"{pair[0]:g}–{pair[1]:g} mg/day"


def render_diff(case: Case, result: Result, guidelines: GuidelineSet) -> str:
    """Expected vs actual, then why each rule involved did or did not fire."""
    lines = ["expected:"]
    lines += [f"  {_mark(i, result)} {describe_expected(i)}" for i in case.expect.present]
    lines += [f"  {'✗' if _found(i, result) else '✓'} not {describe_expected(i)}" for i in case.expect.absent]
    lines += [f"  {_mark_suppressed(i, result)} suppressed {describe_expected(i)}"
              for i in case.expect.suppressed]
    listed = {fact for need in result.needs_data for fact in need.facts}
    lines += [f"  {'✓' if f in listed else '✗'} needs data: {f}" for f in case.expect.needs_data]
    lines += ["actual:"] + [f"  {describe_recommendation(r)}" for r in result.recommendations]
    lines += [] if result.recommendations else ["  (no recommendations)"]
    lines += [f"  suppressed {describe_recommendation(s.recommendation)} by {s.by_rule}: {s.reason}"
              for s in result.suppressed]
    lines += [f"  needs data for {n.rule}: {', '.join(n.facts)}" for n in result.needs_data]
    lines += _why(case, result, guidelines)
    return "\n".join(lines)


def _found(item: Expected, result: Result) -> bool:
    return any(matches(item, r) for r in result.recommendations)


def _mark(item: Expected, result: Result) -> str:
    return "✓" if _found(item, result) else "✗"


def _mark_suppressed(item: Expected, result: Result) -> str:
    return "✓" if any(matches(item, s.recommendation) for s in result.suppressed) else "✗"


def _why(case: Case, result: Result, guidelines: GuidelineSet) -> list[str]:
    involved = rules_involved(case, result, guidelines)
    steps = {s.rule: s for s in (*result.near_misses, *result.trace)}  # a trace step wins
    shown = [_step_line(steps[r]) for r in sorted(involved) if r in steps]
    unseen = [f"  {r}: not reached (no trace)" for r in sorted(involved) if r not in steps]
    return ["why (rules involved):", *shown, *unseen] if involved else []


def rules_involved(case: Case, result: Result, guidelines: GuidelineSet) -> set[str]:
    """The rules behind what went wrong (not every rule that fired), with the rules deriving their facts."""
    expect = case.expect
    missing = [e for e in expect.present if not _found(e, result)]
    missing += [e for e in expect.suppressed if not any(matches(e, s.recommendation) for s in result.suppressed)]
    offending = {r.rule for e in expect.absent for r in result.recommendations if matches(e, r)}
    extra = {r.rule for r in result.recommendations
             if expect.exactly and not any(matches(i, r) for i in expect.present)}
    unasked = {f for f in expect.needs_data if f not in {x for n in result.needs_data for x in n.facts}}
    readers = {r.id for r in guidelines.active_rules if unasked & facts_used(r.when)}
    return _with_producers(_could_give(missing, result, guidelines) | offending | extra | readers, guidelines)


def _could_give(missing: list[Expected], result: Result, guidelines: GuidelineSet) -> set[str]:
    """Rules named by missing items, rules that could give them, and what was given instead."""
    named = {e.rule for e in missing if e.rule}
    could = {rule.id for rule in guidelines.active_rules for e in missing if e.rule is None
             and any((a.kind, a.subject) == (e.action, e.subject) for a in rule.then)}
    instead = {r.rule for r in result.recommendations for e in missing
               if (r.action, r.subject) == (e.action, e.subject)}
    return named | could | instead


def _with_producers(ids: set[str], guidelines: GuidelineSet) -> set[str]:
    """Add the rules that derive the facts these rules read, so a derive chain is explained whole."""
    found, todo = set(ids), list(ids)
    while todo:
        rule = guidelines.rule(todo.pop())
        reads = facts_used(rule.when) if rule else frozenset()
        for other in guidelines.active_rules:
            if other.id not in found and reads & set(other.derives):
                found.add(other.id)
                todo.append(other.id)
    return found


def _step_line(step: TraceStep) -> str:
    facts = ", ".join(_fact_text(f) for f in step.facts)
    line = f"  {step.rule} {step.outcome.replace('_', ' ')}"
    line += f": {facts}" if facts else ""
    if step.failed:
        line += f"; failed: {'; '.join(step.failed)}"
    return line


def _fact_text(fact: FactValue) -> str:
    if fact.value is None:
        return f"{fact.name} missing"
    return f"{fact.name} = {_value(fact.value)}{' ' + fact.unit if fact.unit else ''}"


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)
