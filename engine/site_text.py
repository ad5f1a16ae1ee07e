"""Plain-language phrasing for the site: escaped text, condition trees and actions in clinical words."""

from __future__ import annotations

import functools
import html
import re

from engine.model import (
    Action,
    All,
    Condition,
    FactDef,
    GuidelineSet,
    Multiple,
    Not,
    Test,
    ValueSetRef,
)

#: Characters Python-Markdown (with tables and attribute lists) reads as syntax anywhere in a line.
_INLINE_SYNTAX = re.compile(r"([\\`*_{}\[\]()|!])")
#: What makes a numbered list only at the start of a line: '1. ', '1) '.
_LEADING_NUMBER = re.compile(r"^(\d+)([.)])(?=\s|$)")

COMPARISON_WORDS = {"below": "below", "at_most": "at most", "above": "above", "at_least": "at least"}
ACTION_VERBS = {
    "avoid": "Do not start {}", "start": "Start {}", "continue": "Continue {}", "stop": "Stop {}",
    "hold": "Pause {}", "dose": "Dose of {}", "order_test": "Order {}", "monitor": "Monitor {}",
    "consider": "Consider {}", "combine_with": "Give {}", "caution": "Use {} with caution",
    "counsel": "Counsel the patient about {}",
}
STRENGTH_WORDS = {
    "strong": "strong recommendation", "conditional": "conditional recommendation",
    "not_graded": "not graded",
}


def text(value: object) -> str:
    """Text from YAML made inert: HTML escaped, Markdown syntax escaped, one line.

    Escaping every syntax character (not only `<`) matters: a Markdown link such as
    `[x](javascript:...)` or an attribute list `{: onclick=...}` makes HTML without any `<`.
    """
    return _inert(str(value))


@functools.lru_cache(maxsize=1 << 16)
def _inert(value: str) -> str:
    # Cached: a big site escapes the same labels, titles and ids hundreds of thousands of times.
    one_line = " ".join(value.split())
    inline = _INLINE_SYNTAX.sub(r"\\\1", html.escape(one_line, quote=False))
    if inline[:1] in ("#", "+", "-"):  # a heading, a list or a rule when the text starts a line
        return "\\" + inline
    return _LEADING_NUMBER.sub(r"\1\\\2", inline, count=1)


def indent(block: str) -> str:
    """A block of Markdown indented to sit inside an admonition or a list item."""
    return "\n".join(f"    {line}" if line else "" for line in block.split("\n"))


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def span(low: float, high: float) -> str:
    return number(low) if low == high else f"{number(low)}–{number(high)}"


def unit_of(fact: FactDef | None) -> str:
    if fact is None:
        return ""
    return fact.display_unit or fact.unit or ""


def label_of(g: GuidelineSet, name: str) -> str:
    fact = g.facts.get(name)
    return fact.label if fact else name.replace("_", " ")


def subject_of(g: GuidelineSet, key: str) -> str:
    subject = g.subjects.get(key)
    return subject.label if subject else key.replace("_", " ").replace("-", " ")


# ----------------------------------------------------------------- conditions


def condition_lines(g: GuidelineSet, condition: Condition, depth: int = 0) -> list[str]:
    """A Markdown list (4-space nested) reading the tree aloud."""
    pad = "    " * depth
    if isinstance(condition, Test):
        return [f"{pad}- {leaf(g, condition)}"]
    if isinstance(condition, Not):
        return [f"{pad}- **none** of the following:", *condition_lines(g, condition.item, depth + 1)]
    word = "all" if isinstance(condition, All) else "any"
    lines = [f"{pad}- **{word}** of the following:"]
    for item in condition.items:
        lines.extend(condition_lines(g, item, depth + 1))
    return lines


def leaf(g: GuidelineSet, test: Test) -> str:
    """One test in words: 'white cell count below 2.5 ×10⁹/L'."""
    fact = g.facts.get(test.fact)
    label = text(label_of(g, test.fact))
    return f"{label} {_test_words(g, test, fact)}"


def _test_words(g: GuidelineSet, test: Test, fact: FactDef | None) -> str:
    op, value = test.op, test.value
    if op == "known":
        return "is known" if value else "is not known"
    if op == "unknown":
        return "is not known" if value else "is known"
    if op in COMPARISON_WORDS:
        return f"{COMPARISON_WORDS[op]} {_threshold(g, value, fact)}"
    if op == "between" and isinstance(value, tuple) and len(value) == 2:
        return f"between {text(number(float(value[0])))} and {_threshold(g, value[1], fact)} (inclusive)"
    if op == "one_of" and isinstance(value, tuple):
        return "is one of: " + ", ".join(_value_words(fact, v) for v in value)
    if op == "contains":
        return _contains_words(g, value)
    negation = "is not" if op == "not_equals" else "is"
    return f"{negation} {_value_words(fact, value)}"


def _threshold(g: GuidelineSet, value: object, fact: FactDef | None) -> str:
    if isinstance(value, Multiple):
        return f"{text(number(value.times))} × {text(label_of(g, value.of))}"
    shown = number(value) if isinstance(value, (int, float)) else str(value)
    unit = unit_of(fact)
    return text(f"{shown} {unit}".strip())


def _value_words(fact: FactDef | None, value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return text(f"{number(value)} {unit_of(fact)}".strip())
    key = str(value)
    meaning = dict(fact.values).get(key, "") if fact else ""
    words = key.replace("_", " ")
    if meaning and not meaning.lower().startswith(words.lower()):
        return f"*{text(words)}* ({text(meaning)})"
    return f"*{text(words)}*"


def _contains_words(g: GuidelineSet, value: object) -> str:
    if isinstance(value, ValueSetRef):
        members = g.valuesets.get(value.name)
        if members is None:
            return f"include a member of the value set {text(value.name)}"
        listed = ", ".join(text(v) for v in members.values)
        return f"include any of: {listed} ({text(members.title)})"
    return f"include {text(value)}"


# ----------------------------------------------------------------- actions


def action_words(g: GuidelineSet, action: Action) -> str:
    """The headline of one action: 'Do not start azathioprine', 'Dose azathioprine: 1–2 mg/kg/day'."""
    words = verb_phrase(action.kind, text(subject_of(g, action.subject)))
    if action.kind == "stop" and action.permanent:
        words += " permanently"
    if action.kind == "combine_with" and action.with_subject:
        words += f" together with {text(subject_of(g, action.with_subject))}"
    if action.dose is not None:
        words += f": {dose_words(action)}"
    if action.kind == "monitor":
        words += "".join(f", {label} {text(v)}" for label, v in _schedule(action) if v)
    return words


def verb_phrase(kind: str, subject: str) -> str:
    """'Do not start azathioprine'; `subject` already escaped."""
    pattern = ACTION_VERBS.get(kind, kind.replace("_", " ").capitalize() + " {}")
    return pattern.format(subject)


def _schedule(action: Action) -> tuple[tuple[str, str | None], ...]:
    return (("every", action.interval), ("for", action.duration))


def dose_words(action: Action) -> str:
    """'1–2 mg/kg/day; give 30–70% of this'."""
    if action.dose is None:
        return ""
    words = f"{span(action.dose.min, action.dose.max)} {action.dose.unit}"
    if action.adjust_percent is not None:
        percent = span(action.adjust_percent.min, action.adjust_percent.max)
        words += f"; give {percent}% of this dose"
    return text(words)


def strength_words(strength: str) -> str:
    return STRENGTH_WORDS.get(strength, text(strength.replace("_", " ")))


def derive_words(g: GuidelineSet, action: Action) -> str:
    fact = g.facts.get(action.fact or "")
    value = _value_words(fact, action.value)
    return f"{text(label_of(g, action.fact or ''))} is set to {value}"


@functools.lru_cache(maxsize=1 << 16)
def slug(value: str) -> str:
    """A safe path segment or anchor from an id or key (ids are already safe; this makes sure)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", value).strip("-") or "x"
