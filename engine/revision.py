"""Read the guidelines as they were at a git revision, without touching the work tree or the index.

Only `git merge-base`, `rev-parse`, `ls-tree` and `cat-file` are run: the files of
guidelines/ and schema/ at the revision are copied into a temporary folder and
loaded there by the ordinary loader, so the revision is read exactly as the
working tree is.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import GuidelineError
from engine.repository import Loaded, load_repository

FOLDERS = ("guidelines", "schema")
#: Dictionaries a revision may predate; the working tree's are used then (and a note says so).
DICTIONARIES = ("guidelines/facts.yaml", "guidelines/subjects.yaml", "guidelines/topics.yaml",
                "guidelines/references.yaml", "guidelines/valuesets", "schema")


class GitError(GuidelineError):
    """Raised by revision reading when git is missing, the folder is no git clone, or a revision is unknown."""


@dataclass(frozen=True)
class Revision:
    """The guidelines at one commit: the loaded model, and notes on what could not be read."""

    rev: str
    commit: str
    loaded: Loaded
    notes: tuple[str, ...]


def git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """Run one read-only git command in `root`; failures become GitError with git's own words."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], input=stdin, capture_output=True,
                              check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"cannot run git: {exc}") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {message[-1] if message else 'no message'}")
    return done.stdout


def default_base(root: Path, branch: str = "main") -> str:
    """The merge base of HEAD with `branch`: the commit a pull request started from."""
    try:
        return git(root, "merge-base", "HEAD", branch).decode().strip()
    except GitError as exc:
        raise GitError(f"cannot find where this branch started from {branch} ({exc}); "
                       "pass --base REV (for example --base HEAD~1)") from exc


def resolve(root: Path, rev: str) -> str:
    """The full commit id of `rev`, or GitError naming the revision."""
    if rev.startswith("-"):
        raise GitError(f"'{rev}' is not a revision")
    try:
        git(root, "rev-parse", "--is-inside-work-tree")
    except GitError as exc:
        raise GitError(f"{root} is not inside a git clone, so there is no revision to compare with") from exc
    try:
        return git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    except GitError as exc:
        raise GitError(f"unknown revision '{rev}': no commit, branch or tag of that name") from exc


def load_revision(root: Path, rev: str) -> Revision:
    """Load guidelines/ (and schema/) as they were at `rev`."""
    commit = resolve(root, rev)
    with tempfile.TemporaryDirectory(prefix="guideline-rev-") as folder:
        target = Path(folder)
        _materialise(root, commit, target)
        notes = [f"{name} did not exist at {rev}; the working tree's was used"
                 for name in DICTIONARIES if _borrow(root, target, name)]
        loaded = load_repository(target, with_cases=False)
    notes += [f"at {rev}: {problem} (not compared)" for problem in loaded.problems]
    return Revision(rev, commit, loaded, tuple(notes))


def _materialise(root: Path, commit: str, target: Path) -> None:
    prefix = git(root, "rev-parse", "--show-prefix").decode().strip()
    listing = git(root, "ls-tree", "-r", "-z", "--full-tree", commit, "--", *(prefix + f for f in FOLDERS))
    entries = [_entry(line) for line in listing.split(b"\0") if line]
    blobs = [(sha, path[len(prefix):]) for mode, kind, sha, path in entries
             if kind == "blob" and mode != "120000" and _safe(path[len(prefix):])]
    if not blobs:
        return
    batch = git(root, "cat-file", "--batch", stdin="".join(f"{sha}\n" for sha, _ in blobs).encode())
    for (_, relative), content in zip(blobs, _split_batch(batch), strict=True):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(content)


def _entry(line: bytes) -> tuple[str, str, str, str]:
    meta, path = line.split(b"\t", 1)
    mode, kind, sha = meta.decode().split(" ")
    return mode, kind, sha, path.decode("utf-8", "replace")


def _safe(relative: str) -> bool:
    parts = Path(relative).parts
    return bool(parts) and ".." not in parts and not Path(relative).is_absolute()


def _split_batch(batch: bytes) -> list[bytes]:
    """`git cat-file --batch` output: '<sha> <type> <size>\\n<content>\\n' per object."""
    out: list[bytes] = []
    at = 0
    while at < len(batch):
        end = batch.index(b"\n", at)
        size = int(batch[at:end].split(b" ")[2])
        out.append(batch[end + 1:end + 1 + size])
        at = end + 1 + size + 1
    return out


def _borrow(root: Path, target: Path, name: str) -> bool:
    source, destination = root / name, target / name
    if destination.exists() or not source.exists():
        return False
    if source.is_dir():
        shutil.copytree(source, destination)
    else:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    return True
