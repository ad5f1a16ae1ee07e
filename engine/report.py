"""Reporters: problems as text for people or JSON for machines. Logic never prints; these format."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from engine.errors import Problem


def problems_text(problems: Sequence[Problem], checked: str) -> str:
    """One `path:line:col: message [code]` line per problem, then a summary line."""
    ordered = sorted(problems, key=lambda p: (p.location, p.code, p.message))
    lines = [str(p) for p in ordered]
    errors = sum(p.severity == "error" for p in ordered)
    warnings = len(ordered) - errors
    if not ordered:
        lines.append(f"OK: {checked}; no problems found.")
    else:
        lines.append(f"{errors} error(s), {warnings} warning(s) in {checked}.")
    return "\n".join(lines)


def problems_json(problems: Sequence[Problem], checked: str, extra: dict[str, Any] | None = None) -> str:
    ordered = sorted(problems, key=lambda p: (p.location, p.code, p.message))
    errors = sum(p.severity == "error" for p in ordered)
    body: dict[str, Any] = {
        "status": "ok" if errors == 0 else "fail",
        "checked": checked,
        "errors": errors,
        "warnings": len(ordered) - errors,
        "problems": [p.as_dict() for p in ordered],
    }
    body.update(extra or {})
    return dumps(body)


def dumps(value: Any) -> str:
    """The one JSON style of every machine output: sorted keys, stable, UTF-8."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
