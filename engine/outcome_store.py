"""What `guideline test` found for every case, saved for the site build to reuse (build/site-outcomes.json).

The store holds what the site shows (engine/site_outcomes.py), each case as its file gives it, and a
fingerprint of everything that decides a case file's reading, its problems and its result: the bytes
of every file under guidelines/, tests/cases/ and schema/, the engine's own source and the versions
of Python and of the libraries the engine runs on. The site uses the store only when the fingerprint
it computes now is the same; otherwise it reads, checks and evaluates the cases itself.

A store also says whether the run's cases were every case file under tests/cases/, each read,
schema-valid and without a problem (`all_case_files`). Only then may the site take the cases from the
store instead of reading and checking 50,000 files again (engine/site_inputs.py): the run left out
no file with a problem, so there is none to report.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import IO, Any, Protocol

import engine
from engine.model import Case
from engine.outcome_json import (
    RecommendationTable,
    case_data,
    dumps,
    examples_json,
    outcome_json,
    read_case,
    read_outcomes,
    stored_cases,
)
from engine.repository import CASES_DIR, yaml_names
from engine.site_outcomes import Collector, SiteOutcomes, SiteView

STORE = Path("build") / "site-outcomes.json"
#: Bumped whenever the stored shape changes (2: cases in the order the run finished them; 3: each
#: case as its file gives it, and whether the cases were every case file, all without a problem;
#: 4: each recommendation once, in a table).
FORMAT = 4
_INPUTS = ("guidelines", "tests/cases", "schema")
#: Libraries whose version can change how a file reads, whether it is valid or what a case gives.
_LIBRARIES = ("durable_rules", "PyYAML", "jsonschema", "referencing", "rpds-py")
#: The store's first bytes as StoreWriter writes them: enough to tell a stale store without parsing it.
#: (A store written otherwise, its keys in another order, is taken for stale: evaluated, never trusted.)
_HEAD = re.compile(r'\{\s*"format"\s*:\s*(\d+)\s*,\s*"fingerprint"\s*:\s*"([0-9a-f]{64})"')


def fingerprint(root: Path) -> str:
    """A digest of every input that decides how a case file reads, its problems and its result."""
    digest = hashlib.sha256(f"format {FORMAT}; python {sys.version}; {_library_versions()}\n".encode())
    for label, base in [*((d, root / d) for d in _INPUTS), ("engine", Path(engine.__file__).parent)]:
        for relative, link in _files(str(base)):
            if label == "engine" and (not relative.endswith(".py") or _only_renders(relative)):
                continue
            data = _content(os.path.join(base, relative))
            digest.update(f"{label}/{relative} -> {link} {len(data)}\n".encode())
            digest.update(data)
    return digest.hexdigest()


def _files(base: str) -> list[tuple[str, str]]:
    """Every entry under `base` that is not a folder (none if `base` is not a folder), as relative POSIX
    paths sorted by their parts, each with where it links to ("" for no link). Links to folders are not
    entered, as the loader does not enter them (and a link loop would never end). os.scandir and plain
    strings: pathlib's objects cost more than reading 50,000 small files."""
    found: list[tuple[str, str]] = []
    folders = [""] if os.path.isdir(base) else []
    while folders:
        folder = folders.pop()
        with os.scandir(os.path.join(base, folder)) as entries:
            for entry in entries:
                relative = f"{folder}/{entry.name}" if folder else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        folders.append(relative)
                else:  # where a link points decides whether the loader reads it (not outside the repository)
                    found.append((relative, os.readlink(entry.path) if entry.is_symlink() else ""))
    return sorted(found, key=lambda r: r[0].split("/"))


def _content(path: str) -> bytes:
    """A regular file's bytes (through links); nothing for anything else: a pipe would never end.
    os.open and os.read: 50,000 files read through Python's file objects cost a fifth more."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:  # unreadable now: the loader will say so; the digest must still differ
        return f"unreadable: {exc.strerror}".encode()
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            return b""
        parts = [os.read(descriptor, info.st_size + 1)]
        if len(parts[0]) == info.st_size:  # one byte more was asked for and not given: that is all of it
            return parts[0]
        while chunk := os.read(descriptor, 1 << 20):  # it changed since, or is too big for one read
            parts.append(chunk)
        return b"".join(parts)
    except OSError as exc:
        return f"unreadable: {exc.strerror}".encode()
    finally:
        os.close(descriptor)


def _only_renders(relative: str) -> bool:
    """engine/site*.py (and engine/cli/site.py) turn stored outcomes into pages and decide no result:
    a change to how pages read must not make the site evaluate every case again. engine/site_outcomes.py
    decides what the store holds, so it counts."""
    name = relative.rsplit("/", 1)[-1]
    return name.startswith("site") and name != "site_outcomes.py"


def _library_versions() -> str:
    return "; ".join(f"{name} {_version(name)}" for name in _LIBRARIES)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
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

    `cases` are the cases the run evaluates: those of a whole run that read and checked without a
    problem. `digest`, if given, is the fingerprint taken before they were read (else it is taken
    now): a file changed while they were read then makes the store stale, never trusted.
    """

    def __init__(self, root: Path, cases: Sequence[Case], digest: str | None = None) -> None:
        self._target = root / STORE
        self._cases = {c.path: c for c in cases}
        self._collector = Collector(cases, keep_cases=False)
        self.limit = self._collector.limit  # what each case's view must be made with
        self._seen: set[str] = set()
        self._complete = True
        self._problem: str | None = None
        self._out: IO[str] | None = None
        self._temporary: Path | None = None
        self._table = RecommendationTable()
        self._cases_read_back = True  # each case's stored form reads back to the case
        self._open(digest or fingerprint(root))
        # Listed after the fingerprint: a case file that appears between the two is counted here,
        # so the store does not claim to hold every case file (one appearing later changes the fingerprint).
        self._case_files = case_files(root)

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
        stored = case_data(case)
        if self._cases_read_back and read_case(case.path, stored) != case:
            self._cases_read_back = False  # then the site must read the case files itself
        try:
            text = dumps({**outcome_json(shown, self._table), "case": stored})
        except (TypeError, ValueError):  # a value JSON cannot hold: no store, and the run goes on
            self._complete = False
            return
        self._write(("," if len(self._seen) > 1 else "") + text)

    def finish(self) -> str | None:
        """Put the store in place if the run was whole; returns why it could not be written, or None."""
        if self._complete and self._seen == self._cases.keys():
            examples = self._collector.finish().examples
            # Every case file was one of the run's cases: none failed to read or had a problem; and
            # each case reads back from the store as the loader read it from its file.
            every_file = self._case_files == self._cases.keys() and self._cases_read_back
            self._write(f'],"examples":{dumps(examples_json(examples, self._table))}}},'
                        f'"recommendations":{self._table.json()},"all_case_files":{dumps(every_file)}}}')
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
        self._write(f'{{"format":{FORMAT},"fingerprint":{dumps(digest)},"outcomes":{{"cases":[')

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


def case_files(root: Path) -> set[str]:
    """Every case file the loader reads under tests/cases/, as the paths its cases carry."""
    return {f"{CASES_DIR.as_posix()}/{name}" for name in yaml_names(root / CASES_DIR)}


def load(root: Path, cases: Sequence[Case]) -> SiteOutcomes | None:
    """The saved outcomes if they were saved for exactly these inputs and cases, else None.

    Call it after reading `cases`: the fingerprint taken here then covers what was read."""
    body = _current(root)
    if body is None:
        return None
    try:
        return read_outcomes(body, {c.path: c for c in cases})
    except (KeyError, TypeError, ValueError, IndexError):  # damaged or made by hand: evaluate instead
        return None


def load_with_cases(root: Path) -> SiteOutcomes | None:
    """The saved outcomes with their cases, if saved for exactly these inputs by a run whose cases were
    every case file, each without a problem; else None (the cases must then be read and checked).

    Call it after reading whatever else is used with them (the rules): the fingerprint taken here then
    covers what was read."""
    body = _current(root)
    if body is None or body.get("all_case_files") is not True:
        return None
    try:
        return read_outcomes(body, stored_cases(body))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):  # damaged or made by hand: read the cases
        return None


def _current(root: Path) -> dict[str, Any] | None:
    """The store's body, if its format is this one and its fingerprint that of the repository now."""
    try:
        with open(root / STORE, "rb") as handle:
            head = _HEAD.match(handle.read(100).decode("ascii", "replace"))
            # A stale store (an edit since the run) is told from its first bytes, without parsing it.
            if head is None or int(head[1]) != FORMAT or head[2] != (now := fingerprint(root)):
                return None
            handle.seek(0)
            body = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    fresh = isinstance(body, dict) and body.get("format") == FORMAT and body.get("fingerprint") == now
    return body if fresh else None
