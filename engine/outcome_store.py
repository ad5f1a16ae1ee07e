"""What `guideline test` found for every case, saved for the site build to reuse (build/site-outcomes.json).

The store holds only what the site shows (engine/site_outcomes.py) and a fingerprint of everything
that decides the results: the bytes of every file under guidelines/ and tests/cases/, the engine's
own source and the versions of Python and durable_rules. The site uses the store only when the
fingerprint it computes now is the same; otherwise it evaluates the cases itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import IO, Any, Protocol

import engine
from engine.model import Case
from engine.result import Dose, NeedsData, Recommendation, Suppressed
from engine.site_outcomes import CaseOutcome, Collector, Listing, RuleExamples, SiteOutcomes, SiteView

STORE = Path("build") / "site-outcomes.json"
#: Bumped whenever the stored shape changes (2: cases in the order the run finished them).
FORMAT = 2
_INPUTS = ("guidelines", "tests/cases")


def fingerprint(root: Path) -> str:
    """A digest of every input that decides a case's result."""
    digest = hashlib.sha256(f"format {FORMAT}; python {sys.version}; durable {_durable_version()}\n".encode())
    for label, base in [*((d, root / d) for d in _INPUTS), ("engine", Path(engine.__file__).parent)]:
        for relative in _files(str(base)):
            if label == "engine" and (not relative.endswith(".py") or _only_renders(relative)):
                continue
            with open(os.path.join(base, relative), "rb") as handle:
                data = handle.read()
            digest.update(f"{label}/{relative} {len(data)}\n".encode())
            digest.update(data)
    return digest.hexdigest()


def _files(base: str) -> list[str]:
    """Every file under `base` (none if it is not a folder) as relative POSIX paths, sorted by their
    parts. os.scandir and plain strings: pathlib's objects cost more than reading 50,000 small files."""
    found: list[str] = []
    folders = [""] if os.path.isdir(base) else []
    while folders:
        folder = folders.pop()
        with os.scandir(os.path.join(base, folder)) as entries:
            for entry in entries:
                relative = f"{folder}/{entry.name}" if folder else entry.name
                if entry.is_dir():
                    if entry.name != "__pycache__":
                        folders.append(relative)
                elif entry.is_file():
                    found.append(relative)
    return sorted(found, key=lambda r: r.split("/"))


def _only_renders(relative: str) -> bool:
    """engine/site*.py (and engine/cli/site.py) turn stored outcomes into pages and decide no result:
    a change to how pages read must not make the site evaluate every case again. engine/site_outcomes.py
    decides what the store holds, so it counts."""
    name = relative.rsplit("/", 1)[-1]
    return name.startswith("site") and name != "site_outcomes.py"


def _durable_version() -> str:
    try:
        return metadata.version("durable_rules")
    except metadata.PackageNotFoundError:
        return "absent"


class RunOutcome(Protocol):
    """What `guideline test` knows of one case (engine.cases.CaseOutcome, run with Keep(site=...))."""

    @property
    def path(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def messages(self) -> tuple[str, ...]: ...
    @property
    def site(self) -> SiteView | None: ...


class StoreWriter:
    """Writes the store as a run goes: each case's listing at once, the worked examples at the end.

    Memory stays bounded at any size: a case's listing is written and dropped, and the Collector
    keeps a few examples per rule. The store appears (atomically) only if every case came with a
    view or an error; otherwise any old store is removed and the site evaluates the cases itself.
    """

    def __init__(self, root: Path, cases: Sequence[Case]) -> None:
        self._target = root / STORE
        self._cases = {c.path: c for c in cases}
        self._collector = Collector(cases, keep_cases=False)
        self.limit = self._collector.limit  # what each case's view must be made with
        self._seen: set[str] = set()
        self._complete = True
        self._problem: str | None = None
        self._out: IO[str] | None = None
        self._temporary: Path | None = None
        self._open(fingerprint(root))

    def add(self, outcome: RunOutcome) -> None:
        """One case's outcome; those of files that are not cases of this run (load errors) are ignored."""
        case = self._cases.get(outcome.path)
        if case is None or not self._complete:
            return
        error = "; ".join(outcome.messages) if outcome.status == "error" else None
        if (outcome.site is None and error is None and not case.skip) or outcome.path in self._seen:
            self._complete = False  # not what a whole run gives: no store
            return
        self._seen.add(outcome.path)
        shown = self._collector.add_view(case, outcome.site, error)
        self._write(("," if len(self._seen) > 1 else "") + _dumps(_outcome(shown)))

    def finish(self) -> str | None:
        """Put the store in place if the run was whole; returns why it could not be written, or None."""
        if self._complete and self._seen == self._cases.keys():
            examples = self._collector.finish().examples
            self._write('],"examples":' + _dumps(_examples(examples)) + "}}")
            self._close()
            if self._temporary is not None and self._problem is None:
                try:
                    os.replace(self._temporary, self._target)
                    return None
                except OSError as exc:
                    self._problem = f"cannot write {self._target}: {exc.strerror or exc}"
        self.abandon()
        self._target.unlink(missing_ok=True)  # the site will evaluate the cases itself
        return self._problem

    def _open(self, digest: str) -> None:
        try:
            self._target.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=f".{self._target.name}-", dir=self._target.parent)
            self._temporary = Path(name)
            self._out = os.fdopen(handle, "w", encoding="utf-8")
        except OSError as exc:
            self._problem = f"cannot write {self._target}: {exc.strerror or exc}"
            return
        self._write(f'{{"format":{FORMAT},"fingerprint":{_dumps(digest)},"outcomes":{{"cases":[')

    def _write(self, text: str) -> None:
        if self._out is None or self._problem is not None:
            return
        try:
            self._out.write(text)
        except OSError as exc:
            self._problem = f"cannot write {self._target}: {exc.strerror or exc}"

    def _close(self) -> None:
        if self._out is not None:
            try:
                self._out.close()
            except OSError as exc:
                self._problem = f"cannot write {self._target}: {exc.strerror or exc}"
            self._out = None

    def abandon(self) -> None:
        """Drop what was written so far (a run that stopped early); any old store stays as it was."""
        self._close()
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)


def save(root: Path, cases: Sequence[Case], ran: Iterable[RunOutcome]) -> str | None:
    """Write the store from a whole run's outcomes; returns why it could not be written, or None."""
    writer = StoreWriter(root, cases)
    for outcome in ran:
        writer.add(outcome)
    return writer.finish()


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def load(root: Path, cases: Sequence[Case]) -> SiteOutcomes | None:
    """The saved outcomes if they were saved for exactly these inputs and cases, else None."""
    try:
        body = json.loads((root / STORE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or body.get("format") != FORMAT or body.get("fingerprint") != fingerprint(root):
        return None
    try:
        return _decode(body["outcomes"], {c.path: c for c in cases})
    except (KeyError, TypeError, ValueError):  # damaged or made by hand: evaluate instead
        return None


# ----------------------------------------------------------------- to and from JSON


def _examples(examples: Mapping[str, RuleExamples]) -> dict[str, Any]:
    return {rule: {"total": ex.total, "shown": [_outcome(o) for o in ex.shown]} for rule, ex in examples.items()}


def _outcome(o: CaseOutcome) -> dict[str, Any]:
    body: dict[str, Any] = {"path": o.case.path}
    if o.error is not None:
        body["error"] = o.error
    if o.listing is not None:
        body["listing"] = _listing(o.listing)
    return body


def _listing(listing: Listing) -> dict[str, Any]:
    return {
        "recommendations": [_recommendation(r) for r in listing.recommendations],
        "suppressed": [{"recommendation": _recommendation(s.recommendation), "by_rule": s.by_rule,
                        "reason": s.reason} for s in listing.suppressed],
        "needs_data": [{"rule": n.rule, "title": n.title, "facts": list(n.facts)} for n in listing.needs_data],
        "more": [listing.more_recommendations, listing.more_suppressed, listing.more_needs_data],
    }


def _recommendation(r: Recommendation) -> dict[str, Any]:
    body = {k: getattr(r, k) for k in ("rule", "version", "action", "subject", "strength", "text", "permanent",
                                        "interval", "duration", "with_subject")}
    body["citations"] = list(r.citations)
    if r.dose is not None:
        body["dose"] = {"unit": r.dose.unit, "per_kg": r.dose.per_kg, "mg_per_day": r.dose.mg_per_day,
                        "adjust_percent": r.dose.adjust_percent, "needs": list(r.dose.needs),
                        "text": r.dose.text, "exact_mg_per_day": r.dose.exact_mg_per_day}
    return body


def _decode(body: Mapping[str, Any], cases: Mapping[str, Case]) -> SiteOutcomes:
    # Stored in the order the run finished them; the pages show them by topic, then id.
    outcomes = tuple(sorted((_read_outcome(o, cases) for o in body["cases"]),
                            key=lambda o: (o.case.topic, o.case.id)))
    if {o.case.path for o in outcomes} != set(cases) or len(outcomes) != len(cases):
        raise ValueError("the store does not hold exactly these cases")
    examples = {rule: RuleExamples(tuple(_read_outcome(o, cases) for o in ex["shown"]), int(ex["total"]))
                for rule, ex in body["examples"].items()}
    return SiteOutcomes(outcomes, examples)


def _read_outcome(body: Mapping[str, Any], cases: Mapping[str, Case]) -> CaseOutcome:
    listing = body.get("listing")
    return CaseOutcome(cases[body["path"]], _read_listing(listing) if listing is not None else None,
                       body.get("error"))


def _read_listing(body: Mapping[str, Any]) -> Listing:
    more = [int(n) for n in body["more"]]
    return Listing(
        tuple(_read_recommendation(r) for r in body["recommendations"]),
        tuple(Suppressed(_read_recommendation(s["recommendation"]), s["by_rule"], s["reason"])
              for s in body["suppressed"]),
        tuple(NeedsData(n["rule"], n["title"], tuple(n["facts"])) for n in body["needs_data"]),
        *more,
    )


def _read_recommendation(body: Mapping[str, Any]) -> Recommendation:
    dose = body.get("dose")
    return Recommendation(
        body["rule"], body["version"], body["action"], body["subject"], body["strength"], body["text"],
        tuple(body["citations"]), _read_dose(dose) if dose is not None else None, bool(body["permanent"]),
        body["interval"], body["duration"], body["with_subject"],
    )


def _read_dose(body: Mapping[str, Any]) -> Dose:
    def pair(value: Any) -> tuple[float, float] | None:
        return None if value is None else (value[0], value[1])

    return Dose(body["unit"], pair(body["per_kg"]), pair(body["mg_per_day"]), pair(body["adjust_percent"]),
                tuple(body["needs"]), body["text"], pair(body["exact_mg_per_day"]))
