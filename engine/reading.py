"""One file -> its document and problems (parse, schema, condition shape); many files on every core.

A case file is read one step further, into its case and that case's own problems, so that its
document (most of the memory of a big repository) is dropped where it was read.

Reading a file is the same pure step wherever it runs, so a big repository can read its
files in worker processes and hand the results back in the order they were asked for:
engine.repository then records them exactly as if it had read each file itself.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.case_checks import CaseFindings, CaseVocabulary, case_findings, case_of
from engine.errors import Location, Problem
from engine.loader import Document, load_file
from engine.model import Case
from engine.schema import Schemas, condition_shape_problems

#: Below this many files one process reads them all. Starting a spawned helper costs about
#: 0.3 s of CPU (imports, schemas); a rule costs about 0.5 ms to read, a 200-fact case about 3 ms.
PARALLEL_FROM = 1500
#: Files per task sent to a worker: large enough that pickling stays cheap, small enough to balance.
CHUNK = 250


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while thousands of long-lived objects are built.

    Each full collection walks every object built so far, and loading keeps nearly all of them
    (documents, positions, the model): at 5,000 rules the collector cost a fifth of validate and
    found 279 objects. Reference counting still frees everything else at once.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class FileRead:
    """What reading one file gave: its document if it parsed, and every problem found in it."""

    document: Document | None
    problems: tuple[Problem, ...]

    @property
    def accepted(self) -> Document | None:
        """The document when it parsed and matched its schema, else None."""
        return None if self.problems else self.document


@dataclass(frozen=True)
class CaseRead:
    """What reading one case file gave: its case and own problems if it was valid, else why not."""

    parsed: bool  # the file parsed (even if its schema check failed)
    case: Case | None
    findings: CaseFindings | None
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class Job:
    path: Path
    display: str
    kind: str


def read_file(job: Job, schemas: Schemas, confine_to: Path | None, folders: Folders | None = None) -> FileRead:
    """Parse and schema-check one file; `confine_to` (a resolved root) refuses paths that lead outside it.

    `folders` remembers where folders really are, for a run of files read together.
    """
    if confine_to is not None and _outside(job.path, confine_to, {} if folders is None else folders):
        problem = Problem(Location(job.display), "this path points outside the repository; it is not read",
                          "E-OUTSIDE")
        return FileRead(None, (problem,))
    loaded = load_file(job.path, job.display)
    if isinstance(loaded, Problem):
        return FileRead(None, (loaded,))
    found = schemas.check(loaded, job.kind)
    if job.kind == "rule" and not found:
        found = condition_shape_problems(loaded)
    return FileRead(loaded, tuple(found))


def read_case(job: Job, schemas: Schemas, confine_to: Path | None, vocabulary: CaseVocabulary,
              folders: Folders | None = None) -> CaseRead:
    """Read one case file, build its case and check it on its own; its document is not kept."""
    found = read_file(job, schemas, confine_to, folders)
    document = found.accepted
    if document is None:
        return CaseRead(found.document is not None, None, None, found.problems)
    case = case_of(document)
    return CaseRead(True, case, case_findings(case, document.at, vocabulary), ())


#: Folder -> where it really is (symbolic links followed), for files read together.
Folders = dict[Path, Path]


def _outside(path: Path, root: Path, folders: Folders) -> bool:
    try:
        _real_path(path, folders).relative_to(root)
    except (ValueError, OSError, RuntimeError):
        return True
    return False


def _real_path(path: Path, folders: Folders) -> Path:
    """path.resolve(), resolving each folder once: a file that is no link lies where its folder really is."""
    if path.name in ("", ".", "..") or path.is_symlink():
        return path.resolve()
    folder = path.parent
    if folder not in folders:
        folders[folder] = folder.resolve()
    return folders[folder] / path.name


def read_many(jobs: Sequence[Job], schemas: Schemas, confine_to: Path | None) -> list[FileRead]:
    """Every job's result, in the jobs' order; with helper processes when there are many files."""
    return _read_all(jobs, schemas, confine_to, None)  # type: ignore[return-value]


def read_cases(jobs: Sequence[Job], schemas: Schemas, confine_to: Path | None,
               vocabulary: CaseVocabulary) -> list[CaseRead]:
    """Every case file's read, in the jobs' order; with helper processes when there are many files."""
    return _read_all(jobs, schemas, confine_to, vocabulary)  # type: ignore[return-value]


Read = FileRead | CaseRead


def _read_all(jobs: Sequence[Job], schemas: Schemas, confine_to: Path | None,
              vocabulary: CaseVocabulary | None) -> list[Read]:
    chunks = [list(jobs[i:i + CHUNK]) for i in range(0, len(jobs), CHUNK)]
    helpers = helpers_for(len(jobs))
    if helpers:
        try:
            return _with_helpers(chunks, schemas, confine_to, vocabulary, helpers)
        except (BrokenProcessPool, OSError):  # no helper could start (a sandbox, no /dev/shm): read here
            pass
    return _read_chunk_here(jobs, schemas, confine_to, vocabulary)


def _read_chunk_here(jobs: Sequence[Job], schemas: Schemas, confine_to: Path | None,
                     vocabulary: CaseVocabulary | None) -> list[Read]:
    folders: Folders = {}
    if vocabulary is None:
        return [read_file(job, schemas, confine_to, folders) for job in jobs]
    return [read_case(job, schemas, confine_to, vocabulary, folders) for job in jobs]


def helpers_for(files: int) -> int:
    """Helper processes worth starting: one per idle core beside this one, for many files only.

    On a busy machine a helper competes for the same cores and its start and the pickling of its
    documents make the whole slower (measured: 12 s against 10 s serial at 5,000 rules, load 5).
    """
    cores = os.cpu_count() or 1
    if files < PARALLEL_FROM or cores < 2:
        return 0
    idle = round(cores - os.getloadavg()[0])
    return max(0, min(idle, cores) - 1)


def _with_helpers(chunks: list[list[Job]], schemas: Schemas, confine_to: Path | None,
                  vocabulary: CaseVocabulary | None, helpers: int) -> list[Read]:
    # spawn, not fork: the caller may already run durable_rules' threads (guideline test, the site build).
    context = multiprocessing.get_context("spawn")
    claimed = context.Array("b", len(chunks))  # 1 once this process or a helper has taken the chunk
    with ProcessPoolExecutor(helpers, mp_context=context, initializer=_start_helper,
                             initargs=(schemas.documents, claimed, vocabulary)) as pool:
        # Helpers take chunks from the end while this process reads from the start, each chunk
        # going to whoever claims it first: balanced however slowly the helpers start.
        futures = [pool.submit(_read_chunk, i, chunks[i], confine_to) for i in reversed(range(len(chunks)))][::-1]
        reads: list[Read] = []
        for i, chunk in enumerate(chunks):
            mine = _claim(claimed, i)
            found = None if mine else futures[i].result()
            reads += _read_chunk_here(chunk, schemas, confine_to, vocabulary) if found is None else found
        return reads


def _claim(claimed: Any, index: int) -> bool:
    with claimed.get_lock():
        if claimed[index]:
            return False
        claimed[index] = 1
        return True


_HELPER: tuple[Schemas, Any, CaseVocabulary | None] | None = None


def _start_helper(documents: dict[str, Any], claimed: Any, vocabulary: CaseVocabulary | None) -> None:
    global _HELPER
    _HELPER = (Schemas.from_documents(documents), claimed, vocabulary)


def _read_chunk(index: int, jobs: list[Job], confine_to: Path | None) -> list[Read] | None:
    """The chunk's reads, or None when the main process claimed it first."""
    assert _HELPER is not None, "the helper initializer did not run"
    schemas, claimed, vocabulary = _HELPER
    if not _claim(claimed, index):
        return None
    return _read_chunk_here(jobs, schemas, confine_to, vocabulary)
