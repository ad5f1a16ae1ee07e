"""One case file's own problems (file name, facts, expectations), found while its lines are at hand.

A parsed case file and its line map cost far more memory than the case built from it; at
50,000 cases keeping them for the checks was most of a run's memory. So each case is checked
as soon as it is read (in a helper process when there are many), and only what the checks
that need every case at once use is kept. Where a case's id is written is looked up again only
for a duplicate id (see `id_location`): most files are read without positions (engine.loader).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.errors import Location, Problem
from engine.facts import Locate, normalize_facts
from engine.loader import Document, load_file
from engine.model import Case, Expected, FactDef, case_from
from engine.schema import did_you_mean


@dataclass(frozen=True)
class CaseVocabulary:
    """What checking one case needs of the repository: the facts, subject names and rule ids."""

    facts: Mapping[str, FactDef]
    subjects: frozenset[str]
    rule_ids: frozenset[str]


@dataclass(frozen=True)
class CaseFindings:
    """What the checks over every case need of one case: its id, and its own problems in the order
    they are reported."""

    case_id: str
    misnamed: tuple[Problem, ...]  # reported before a duplicate id
    others: tuple[Problem, ...]  # reported after it


def case_of(document: Document) -> Case:
    """The case a parsed, schema-checked case file holds."""
    return case_from(document.data, document.display, topic_of_case(document.display))


def topic_of_case(display: str) -> str:
    """tests/cases/<topic>/<id>.yaml -> <topic>."""
    parts = display.split("/")
    if "" in parts or "." in parts:  # not a plain relative path: let pathlib read it
        parts = list(Path(display).parts)
    return parts[-2] if len(parts) >= 2 else ""


def _stem(path: str) -> str:
    """Path(path).stem, for a path written with `/`."""
    name = path.rsplit("/", 1)[-1]
    if name in ("", ".", ".."):
        return Path(path).stem
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def case_findings(case: Case, locate: Locate, vocabulary: CaseVocabulary) -> CaseFindings:
    """Every problem one case has on its own; `locate` maps a data path to its place in the file."""
    misnamed = () if _stem(case.path) == case.id else (
        Problem(locate(("id",)), f"the id '{case.id}' must match the file name", "E-ID-FILENAME"),)
    _, problems = normalize_facts(case.facts, vocabulary.facts, locate)
    expect = case.expect
    for key, items in (("present", expect.present), ("absent", expect.absent), ("suppressed", expect.suppressed)):
        problems += _expectation_problems(items, key, locate, vocabulary)
    for i, name in enumerate(expect.needs_data):
        if name not in vocabulary.facts:
            problems.append(Problem(locate(("expect", "needs_data", i)),
                                    f"unknown fact '{name}'{did_you_mean(name, sorted(vocabulary.facts))}",
                                    "E-UNKNOWN-FACT"))
    return CaseFindings(case.id, misnamed, tuple(problems))


def id_location(root: Path, case_path: str) -> Location:
    """Where the case file at `case_path` (from `root`) writes its id; the file is read again to find out."""
    document = load_file(root / case_path, case_path)
    return document.at(("id",)) if isinstance(document, Document) else Location(case_path)


def _expectation_problems(items: tuple[Expected, ...], key: str, locate: Locate,
                          vocabulary: CaseVocabulary) -> list[Problem]:
    found: list[Problem] = []
    for i, item in enumerate(items):
        if item.subject not in vocabulary.subjects:
            found.append(Problem(locate(("expect", key, i, "subject")), f"unknown subject '{item.subject}'"
                                 f"{_subject_hint(item.subject, vocabulary.subjects)}", "E-UNKNOWN-SUBJECT"))
        if item.rule and item.rule not in vocabulary.rule_ids:
            found.append(Problem(locate(("expect", key, i, "rule")), f"unknown rule '{item.rule}'"
                                 f"{did_you_mean(item.rule, sorted(vocabulary.rule_ids))}", "E-UNKNOWN-RULE"))
    return found


def _subject_hint(subject: str, subjects: frozenset[str]) -> str:
    """A near spelling, else the subjects that share a word with it ("intravenous-antiviral" ->
    iv-antiviral, oral-antiviral), else where the subjects are listed."""
    close = did_you_mean(subject, sorted(subjects))
    if close:
        return close
    words = set(subject.split("-"))
    sharing = sorted(subjects, key=lambda s: (-len(words & set(s.split("-"))), s))
    sharing = [s for s in sharing[:5] if words & set(s.split("-"))]
    if sharing:
        return f"; did you mean one of: {', '.join(sharing)}?"
    return "; the subjects are listed in guidelines/subjects.yaml"
