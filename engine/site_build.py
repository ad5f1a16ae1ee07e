"""Builds the site with `mkdocs build --strict` into a fresh folder and swaps it in only on success."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import GuidelineError

CONFIG = Path("site") / "mkdocs.yml"
DEFAULT_OUTPUT = Path("site") / "build"
#: Written into every site we build, so that we only ever replace a folder we built ourselves.
MARKER = ".guideline-site"
TIMEOUT_SECONDS = 900
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class SiteBuildError(GuidelineError):
    """Raised by the site builder when it cannot even try: no mkdocs.yml, or an output it must not replace."""


@dataclass(frozen=True)
class BuildOutcome:
    ok: bool
    output: Path
    messages: tuple[str, ...]   # mkdocs' warnings and errors, one per line, without colour codes


def mkdocs_environment() -> dict[str, str]:
    # Material prints a large end-of-life banner on every run; it is noise for editors and CI.
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONUNBUFFERED": "1"}


def config_path(root: Path) -> Path:
    config = root / CONFIG
    if not config.is_file():
        raise SiteBuildError(f"{CONFIG.as_posix()}: this file is missing in {root}; the site needs it")
    return config


def build_site(root: Path, output: Path | None = None) -> BuildOutcome:
    """Build into a temporary folder beside `output`; replace `output` only if the build succeeded."""
    config = config_path(root)
    target = (output or root / DEFAULT_OUTPUT).resolve()
    _check_replaceable(target, root)
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}-new-", dir=target.parent))
    try:
        completed = _run_mkdocs(config, fresh, root)
        messages = _messages(completed.stdout + completed.stderr)
        if completed.returncode != 0:
            return BuildOutcome(False, target, messages or (f"mkdocs exited with {completed.returncode}",))
        (fresh / MARKER).write_text("built by `guideline site build`; safe to replace\n", encoding="utf-8")
        _swap(fresh, target)
        return BuildOutcome(True, target, messages)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)  # gone already after a successful swap


def _run_mkdocs(config: Path, destination: Path, root: Path) -> subprocess.CompletedProcess[str]:
    # A child process: MkDocs' logging and the rule engine's process-wide state stay out of ours.
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",
               "-f", str(config), "-d", str(destination)]
    try:
        return subprocess.run(command, cwd=root, env=mkdocs_environment(), capture_output=True,
                              text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SiteBuildError(f"the site build took longer than {TIMEOUT_SECONDS} s and was stopped") from exc


def _messages(log: str) -> tuple[str, ...]:
    lines = (_ANSI.sub("", line).rstrip() for line in log.splitlines())
    return tuple(line for line in lines if line.startswith(("WARNING", "ERROR", "Error", "Aborted"))
                 or "Traceback" in line or line.startswith("  File "))


def _check_replaceable(target: Path, root: Path) -> None:
    """Refuse to replace a folder we did not build: the repository, its parents, or anyone's files."""
    if target == root.resolve() or target in root.resolve().parents:
        raise SiteBuildError(f"--output {target} would replace the repository itself; choose a new folder")
    if target.exists() and not target.is_dir():
        raise SiteBuildError(f"--output {target} is a file; choose a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).exists():
        raise SiteBuildError(
            f"--output {target} holds files that `guideline site build` did not make; "
            "choose an empty or new folder (nothing was changed)"
        )


def _swap(fresh: Path, target: Path) -> None:
    """Put the new site in place. Between the two renames the old site is still whole, beside it."""
    if not target.exists():
        fresh.rename(target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
    old.rmdir()
    target.rename(old)
    try:
        fresh.rename(target)
    except OSError:
        old.rename(target)  # put the last good site back
        raise
    shutil.rmtree(old, ignore_errors=True)


def serve(root: Path, dev_addr: str) -> int:
    """Run `mkdocs serve` until it ends; stopping us (Ctrl-C or SIGTERM) stops it too."""
    child = subprocess.Popen(serve_command(root, dev_addr), cwd=root, env=mkdocs_environment())
    previous = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if child.poll() is None:
            child.terminate()
            child.wait(timeout=10)


def serve_command(root: Path, dev_addr: str) -> list[str]:
    # Not strict: an editor previewing a half-written rule should see the page and the warning.
    return [sys.executable, "-m", "mkdocs", "serve", "--no-strict", "-f", str(config_path(root)),
            "--dev-addr", dev_addr]
