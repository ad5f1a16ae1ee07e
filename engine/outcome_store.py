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
from typing import Any, Protocol

import engine
from engine.model import Case
from engine.result import Dose, NeedsData, Recommendation, Result, Suppressed
from engine.site_outcomes import CaseOutcome, Collector, Listing, RuleExamples, SiteOutcomes

STORE = Path("build") / "site-outcomes.json"
#: Bumped whenever the stored shape changes.
FORMAT = 1
_INPUTS = ("guidelines", "tests/cases")


def fingerprint(root: Path) -> str:
    """A digest of every input that decides a case's result."""
    digest = hashlib.sha256(f"format {FORMAT}; python {sys.version}; durable {_durable_version()}\n".encode())
    for label, base in [*((d, root / d) for d in _INPUTS), ("engine", Path(engine.__file__).parent)]:
        files = sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts) \
            if base.is_dir() else []
        for path in files:
            if label == "engine" and path.suffix != ".py":
                continue
            data = path.read_bytes()
            digest.update(f"{label}/{path.relative_to(base).as_posix()} {len(data)}\n".encode())
            digest.update(data)
    return digest.hexdigest()


def _durable_version() -> str:
    try:
        return metadata.version("durable_rules")
    except metadata.PackageNotFoundError:
        return "absent"


class RunOutcome(Protocol):
    """What `guideline test` knows of one case (engine.cases.CaseOutcome)."""

    @property
    def path(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def messages(self) -> tuple[str, ...]: ...
    @property
    def result(self) -> Result | None: ...


def save_test_run(root: Path, cases: Sequence[Case], outcomes: Iterable[RunOutcome]) -> str | None:
    """Save a whole run of `guideline test`; returns why it could not be written, or None."""
    return save(root, cases, ((o.path, o.result, "; ".join(o.messages) if o.status == "error" else None)
                              for o in outcomes))


def save(root: Path, cases: Sequence[Case], ran: Iterable[tuple[str, Result | None, str | None]]) -> str | None:
    """Reduce each case's (path, result, error) and write the store atomically; returns why not, or None.

    Every case must be there: a store that lacks one is never written (and any old one is removed).
    """
    target = root / STORE
    by_path = {c.path: (c, None, None) for c in cases}
    given: dict[str, tuple[Case, Result | None, str | None]] = {}
    for path, result, error in ran:
        if path in by_path:
            given[path] = (by_path[path][0], result, error)
    if len(given) != len(by_path) or any(r is None and e is None and not c.skip for c, r, e in given.values()):
        target.unlink(missing_ok=True)  # the site will evaluate the cases itself
        return None
    collector = Collector(cases)
    for case, result, error in sorted(given.values(), key=lambda g: g[0].id):
        collector.add(case, result, error)
    body = {"format": FORMAT, "fingerprint": fingerprint(root), "outcomes": _encode(collector.finish())}
    try:
        _write_atomically(target, json.dumps(body, separators=(",", ":")))
    except OSError as exc:
        return f"cannot write {target}: {exc.strerror or exc}"
    return None


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


def _write_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ----------------------------------------------------------------- to and from JSON


def _encode(outcomes: SiteOutcomes) -> dict[str, Any]:
    return {
        "cases": [_outcome(o) for o in outcomes.cases],
        "examples": {rule: {"total": ex.total, "shown": [_outcome(o) for o in ex.shown]}
                     for rule, ex in outcomes.examples.items()},
    }


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
    outcomes = tuple(_read_outcome(o, cases) for o in body["cases"])
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
