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
import stat
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.case_checks import CaseFindings, CaseVocabulary, case_findings, case_of
from engine.errors import Location, Problem
from engine.loader import Document, load_file
from engine.model import Case
from engine.prefetch import Prefetch
from engine.schema import Schemas, condition_shape_problems

#: Below this many files one process reads them all. Starting a spawned helper costs about
#: 0.3 s of CPU (imports, schemas); a rule costs about 0.3 ms to read, a 25-fact case about
#: 0.25 ms and a 200-fact one about 1 ms (measured 2026-11-22 on a 2-core VM).
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
    gc.unfreeze()  # what an earlier pause froze (see below) may be garbage by now: let the collector judge it again
    try:
        yield
    finally:
        if was_enabled:
            # What was built is mostly kept (the loaded model). Left in the youngest generation,
            # the first collection after this would walk all of it at once (0.4 s at 50,000
            # cases), and the older generations' collections again later; frozen, it is walked
            # no more. Reference counting still frees it when it is dropped.
            gc.freeze()
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
    case: Case | None  # None too when it was valid but not asked for (see Reading.cases)
    findings: CaseFindings | None  # None when the file was not valid
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class CaseTask:
    """How case files are read: what each is checked against, and whether its case is kept
    (validate needs only the findings; a case is most of what crosses from a helper process)."""

    vocabulary: CaseVocabulary
    keep: bool = True


@dataclass(frozen=True)
class Job:
    """One file to read: where it is, how messages name it (from the repository root), and its kind."""

    path: str
    display: str
    kind: str


def read_file(job: Job, schemas: Schemas, confine_to: Path | None, folders: Folders | None = None) -> FileRead:
    """Parse and schema-check one file; `confine_to` (a resolved root) refuses paths that lead outside it.

    `folders` remembers where folders really are, for a run of files read together.
    """
    status = _status(job.path)
    if confine_to is not None and _outside(job.path, status, confine_to, {} if folders is None else folders):
        problem = Problem(Location(job.display), "this path points outside the repository; it is not read",
                          "E-OUTSIDE")
        return FileRead(None, (problem,))
    loaded = load_file(job.path, job.display, status=status)
    if isinstance(loaded, Problem):
        return FileRead(None, (loaded,))
    found = schemas.check(loaded, job.kind)
    if job.kind == "rule" and not found:
        found = condition_shape_problems(loaded)
    return FileRead(loaded, tuple(found))


def read_case(job: Job, schemas: Schemas, confine_to: Path | None, vocabulary: CaseVocabulary,
              folders: Folders | None = None, *, keep: bool = True) -> CaseRead:
    """Read one case file, build its case and check it on its own; its document is not kept,
    nor its case unless `keep`."""
    found = read_file(job, schemas, confine_to, folders)
    document = found.accepted
    if document is None:
        return CaseRead(found.document is not None, None, None, found.problems)
    case = case_of(document)
    return CaseRead(True, case if keep else None, case_findings(case, document.at, vocabulary), ())


#: Folder -> where it really is (symbolic links followed), for files read together.
Folders = dict[str, str]


def _status(path: str) -> os.stat_result | None:
    """os.lstat(path), or None where it fails (engine.loader then says why)."""
    try:
        return os.lstat(path)
    except OSError:
        return None


def _outside(path: str, status: os.stat_result | None, root: Path, folders: Folders) -> bool:
    """Whether Path(path).resolve() lies outside `root` (or cannot be resolved); `status` is its lstat."""
    try:
        real = _real_path(path, status, folders)
    except (OSError, RuntimeError):
        return True
    inside = str(root)
    return real != inside and not real.startswith(inside if inside.endswith("/") else inside + "/")


def _real_path(path: str, status: os.stat_result | None, folders: Folders) -> str:
    """str(Path(path).resolve()), each folder resolved once: a file that is no link lies where its folder really is."""
    folder, name = os.path.split(path)
    if name in ("", ".", "..") or (status is not None and stat.S_ISLNK(status.st_mode)):
        return str(Path(path).resolve())
    if folder not in folders:
        folders[folder] = str(Path(folder or ".").resolve())
    return os.path.join(folders[folder], name)


Read = FileRead | CaseRead


class Reading:
    """Reads a repository's files, in helper processes too when there are many.

    The helpers are started once (when the first big batch comes) and read every later batch,
    rules and cases alike: each start costs about 0.3 s of CPU (imports, schemas). A batch is
    cut into chunks; helpers take chunks from its end while this process reads from its start,
    each chunk going to whoever claims it first, so the work is balanced however busy the
    machine is. Results come back in the jobs' order.
    """

    def __init__(self, schemas: Schemas, confine_to: Path | None, *, files: int) -> None:
        self.schemas = schemas
        self.confine_to = confine_to
        self.folders: Folders = {}
        self.helpers = helpers_for(files)
        self.claims = files // CHUNK + 16  # enough for every batch's chunks, with room for a few short ones
        self._pool: ProcessPoolExecutor | None = None
        self._claimed: Any = None
        self._chunks_started = 0

    def __enter__(self) -> Reading:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def file(self, job: Job) -> FileRead:
        return read_file(job, self.schemas, self.confine_to, self.folders)

    def files(self, jobs: Sequence[Job]) -> list[FileRead]:
        """Every job's result, in the jobs' order."""
        return self._read(jobs, None)  # type: ignore[return-value]

    def cases(self, jobs: Sequence[Job], task: CaseTask,
              meanwhile: Callable[[], None] = lambda: None) -> list[CaseRead]:
        """Every case file's read, in the jobs' order. `meanwhile` runs in this process once the
        helpers have their work (before any case is read when there is no helper)."""
        return self._read(jobs, task, meanwhile)  # type: ignore[return-value]

    def _read(self, jobs: Sequence[Job], task: CaseTask | None,
              meanwhile: Callable[[], None] = lambda: None) -> list[Read]:
        chunks = [list(jobs[i:i + CHUNK]) for i in range(0, len(jobs), CHUNK)]
        first = self._chunks_started
        with Prefetch([job.path for job in jobs]) if len(jobs) >= PARALLEL_FROM else nullcontext():
            if len(chunks) > 1 and self.helpers and first + len(chunks) <= self.claims:
                self._chunks_started += len(chunks)
                try:
                    return self._with_helpers(chunks, first, task, meanwhile)
                except (BrokenProcessPool, OSError):  # no helper could start (a sandbox, no /dev/shm): read here
                    self.helpers = 0
            meanwhile()
            return _read_chunk_here(jobs, self.schemas, self.confine_to, task, self.folders)

    def _with_helpers(self, chunks: list[list[Job]], first: int, task: CaseTask | None,
                      meanwhile: Callable[[], None]) -> list[Read]:
        pool, claimed = self._started()
        # The case task (its vocabulary is 150 KB at 5,000 rules) rides only with the first chunks
        # sent: a helper takes tasks in the order sent and keeps it for the batch (see _read_chunk).
        futures = [pool.submit(_read_chunk, first + i, [(j.path, j.display, j.kind) for j in chunks[i]],
                               self.confine_to, first, task is not None,
                               task if sent < 2 * self.helpers else None)
                   for sent, i in enumerate(reversed(range(len(chunks))))][::-1]
        meanwhile()
        reads: list[Read] = []
        for i, chunk in enumerate(chunks):
            found = None if _claim(claimed, first + i) else futures[i].result()
            if found is None:  # this process claimed the chunk, or the helper could not read it
                found = _read_chunk_here(chunk, self.schemas, self.confine_to, task, self.folders)
            reads += found
        return reads

    def _started(self) -> tuple[ProcessPoolExecutor, Any]:
        if self._pool is None:
            # spawn, not fork: the caller may already run durable_rules' threads (guideline test, the site build).
            context = multiprocessing.get_context("spawn")
            self._claimed = context.Array("b", self.claims)  # 1 once this process or a helper has taken the chunk
            self._pool = ProcessPoolExecutor(self.helpers, mp_context=context, initializer=_start_helper,
                                             initargs=(self.schemas.documents, self._claimed))
        return self._pool, self._claimed


def _read_chunk_here(jobs: Sequence[Job], schemas: Schemas, confine_to: Path | None,
                     task: CaseTask | None, folders: Folders) -> list[Read]:
    if task is None:
        return [read_file(job, schemas, confine_to, folders) for job in jobs]
    return [read_case(job, schemas, confine_to, task.vocabulary, folders, keep=task.keep) for job in jobs]


def helpers_for(files: int) -> int:
    """Helper processes worth starting: one per core beside this one, for many files only.

    The load average is not consulted: on a busy machine two processes still get more of it
    than one, and a helper that starts late or runs slowly only claims fewer chunks.
    """
    cores = os.cpu_count() or 1
    if files < PARALLEL_FROM or cores < 2:
        return 0
    return cores - 1


def _claim(claimed: Any, index: int) -> bool:
    with claimed.get_lock():
        if claimed[index]:
            return False
        claimed[index] = 1
        return True


_HELPER: tuple[Schemas, Any] | None = None
_BATCH_TASK: tuple[int, CaseTask] | None = None  # the batch it came with, and the task


def _start_helper(documents: dict[str, Any], claimed: Any) -> None:
    global _HELPER
    gc.disable()  # as in the main process (collector_paused): reading builds many objects and frees them at once
    _HELPER = (Schemas.from_documents(documents), claimed)


def _read_chunk(index: int, sent: list[tuple[str, str, str]], confine_to: Path | None, batch: int, cases: bool,
                task: CaseTask | None) -> list[Read] | None:
    """The chunk's reads, or None when the main process claimed it first (or, for cases, when this
    helper was not given the batch's task: the main process then reads the chunk)."""
    global _BATCH_TASK
    assert _HELPER is not None, "the helper initializer did not run"
    schemas, claimed = _HELPER
    if task is not None:
        _BATCH_TASK = (batch, task)
    jobs = [Job(*job) for job in sent]  # sent as tuples: they pickle faster than dataclasses
    if not cases:
        return _read_chunk_here(jobs, schemas, confine_to, None, {}) if _claim(claimed, index) else None
    if _BATCH_TASK is None or _BATCH_TASK[0] != batch or not _claim(claimed, index):
        return None
    return _read_chunk_here(jobs, schemas, confine_to, _BATCH_TASK[1], {})
