"""Rule and case files -> one canonical key order and layout, comments kept (ruamel.yaml round trip).

Safe by construction: a file is rewritten only if the rewritten text loads
(with our own strict loader) to exactly the same data as before, and it is
written atomically (a temporary file in the same folder, then a rename), so an
interrupted run never leaves half a rule behind.
"""

from __future__ import annotations

import io
import itertools
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString

from engine.errors import Location, Problem
from engine.loader import Document, parse_text

WIDTH = 100  # the width the repository's files are written at; changing it rewraps every file
RULE_ORDER = ("id", "version", "status", "title", "topic", "when", "then", "overrides", "rationale",
              "citations", "evidence", "review", "changelog", "reason", "replaced_by")
CASE_ORDER = ("id", "title", "story", "facts", "expect", "skip")
ACTION_ORDER = ("action", "subject", "with", "strength", "dose", "adjust_percent", "permanent", "interval",
                "duration", "fact", "value", "text")
NESTED_ORDER = {
    "citations": ("ref", "locator", "note"),
    "evidence": ("certainty", "scheme", "note"),
    "review": ("authors", "approved", "next_review"),
    "changelog": ("version", "date", "change"),
    "dose": ("min", "max", "unit"),
    "adjust_percent": ("min", "max"),
    "expect": ("present", "absent", "suppressed", "needs_data", "exactly"),
}
SCHEMA_COMMENT = "yaml-language-server: $schema="


@dataclass(frozen=True)
class Formatted:
    """One file's outcome: the canonical text (None if it could not be formatted) and any problem."""

    path: Path
    display: str
    changed: bool
    text: str | None
    problem: Problem | None = None


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = WIDTH
    yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml


def kind_of(display: str) -> str:
    """'rule', 'case' or 'other', from where the file lives."""
    if display.startswith("guidelines/rules/"):
        return "rule"
    if display.startswith("tests/cases/"):
        return "case"
    return "other"


def format_text(text: str, display: str, schema_dir: str | None = None) -> str:
    """The canonical form of one file's text; raises YAMLError if ruamel cannot read it."""
    yaml = _yaml()
    data = yaml.load(text)
    kind = kind_of(display)
    if isinstance(data, CommentedMap) and kind != "other":
        _reorder(data, RULE_ORDER if kind == "rule" else CASE_ORDER)
        for key, value in data.items():
            _reorder_nested(key, value)
        if kind == "case" and isinstance(data.get("facts"), CommentedMap):
            data["facts"].fa.set_block_style()  # one fact a line: a flow mapping wraps mid-fact
    _rewrap_overlong(data)
    out = io.StringIO()
    yaml.dump(data, out)
    if kind == "other" or schema_dir is None:
        return out.getvalue()
    return _with_schema_comment(out.getvalue(), kind, schema_dir)


def _rewrap_overlong(node: Any, column: int = 0) -> None:
    """Folded text (`>-`) keeps its author's line breaks unless a line is too long to fit: ruamel
    then wraps that line once more and leaves a word alone on a line of its own. Such a block is
    laid out afresh at the file width instead; what the text says does not change. `column` is
    where the keys of `node` start (block style, two spaces a level, list items not indented)."""
    if isinstance(node, list):
        for item in node:
            _rewrap_overlong(item, column + 2)  # past the "- "
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        if isinstance(value, FoldedScalarString) and _badly_folded(value, column + 2):
            value.fold_pos = []  # type: ignore[attr-defined]  # ruamel's record of the author's breaks
        else:
            _rewrap_overlong(value, column if isinstance(value, list) else column + 2)


def _badly_folded(text: FoldedScalarString, indent: int) -> bool:
    """Whether a line of `text` is, or would become, one word alone between longer lines: ruamel
    breaks a line at a space it meets past the width, and the author's next break then leaves the
    words between alone (files formatted before this check keep such a word as a line)."""
    folds = [0, *getattr(text, "fold_pos", []), len(text)]
    lines = list(itertools.pairwise(folds))
    for number, (start, end) in enumerate(lines):
        past = text.rfind(" ", start, end)  # the last space on the line the author wrote
        if past != -1 and indent + past - start > WIDTH:
            return True
        if 0 < number < len(lines) - 1 and " " not in text[start:end].strip():
            return True
    return False


def _reorder(mapping: CommentedMap, order: Iterable[str]) -> None:
    """Known keys in `order`, then unknown keys as written; comments travel with their keys."""
    wanted = [k for k in order if k in mapping] + [k for k in mapping if k not in order]
    for key in wanted:
        mapping.move_to_end(key)


def _reorder_nested(key: str, value: Any) -> None:
    if key == "then" and isinstance(value, CommentedSeq):
        for action in value:
            if isinstance(action, CommentedMap):
                _reorder(action, ACTION_ORDER)
                for inner in ("dose", "adjust_percent"):
                    if isinstance(action.get(inner), CommentedMap):
                        _reorder(action[inner], NESTED_ORDER[inner])
    elif key == "when":
        _reorder_condition(value)
    elif key in NESTED_ORDER:
        items = value if isinstance(value, CommentedSeq) else [value]
        for item in items:
            if isinstance(item, CommentedMap):
                _reorder(item, NESTED_ORDER[key])


def _reorder_condition(node: Any) -> None:
    """A leaf test reads 'fact, test, unit'; groups are walked."""
    if not isinstance(node, CommentedMap):
        return
    if "fact" in node:
        _reorder(node, ("fact", *(k for k in node if k not in ("fact", "unit")), "unit"))
        return
    for group in ("all", "any"):
        for child in node.get(group) or ():
            _reorder_condition(child)
    _reorder_condition(node.get("not"))


def _with_schema_comment(text: str, kind: str, schema_dir: str) -> str:
    """Every rule and case file starts with the comment that gives editors inline errors in VS Code."""
    if SCHEMA_COMMENT in text.split("\n", 1)[0]:
        return text
    return f"# {SCHEMA_COMMENT}{schema_dir}/{kind}.schema.json\n{text}"


def schema_dir_for(display: str) -> str:
    """The relative path from a file to schema/, as the yaml-language-server comment needs it."""
    depth = len(Path(display).parts) - 1
    return "/".join([".."] * depth + ["schema"])


def format_file(path: Path, display: str) -> Formatted:
    """Read and format one file (nothing is written)."""
    try:
        text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError) as exc:
        return Formatted(path, display, False, None, Problem(Location(display), f"cannot read: {exc}", "E-READ"))
    before = parse_text(text.encode("utf-8"), display, path)
    if isinstance(before, Problem):
        return Formatted(path, display, False, None, before)
    try:
        new = format_text(text, display, schema_dir_for(display))
    except YAMLError as exc:
        return Formatted(path, display, False, None, Problem(Location(display), f"cannot format: {exc}",
                                                             "E-FMT"))
    # ruamel leaves a space at the end of a line where it wraps text; it means nothing there,
    # but inside block text (`|`) it would, so the stripped form is kept only if it says the same.
    stripped = _checked(path, display, text, _strip_trailing(new), before)
    return stripped if stripped.problem is None else _checked(path, display, text, new, before)


def _strip_trailing(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _checked(path: Path, display: str, old: str, new: str, before: Document) -> Formatted:
    after = parse_text(new.encode("utf-8"), display, path)
    if isinstance(after, Problem) or after.data != before.data:
        problem = Problem(Location(display), "formatting would change what the file says, so it was left "
                          "alone; please report this file", "E-FMT-UNSAFE")
        return Formatted(path, display, False, None, problem)
    return Formatted(path, display, new != old, new)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step; the file's permissions are kept."""
    mode = path.stat().st_mode & 0o777
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
