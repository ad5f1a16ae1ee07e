"""Build small, valid guideline repositories in a temporary folder, for tests of mechanics.

`make_repo(tmp_path)` writes a repository that `guideline validate` accepts with no
problem: the real schemas, a seven-fact dictionary, three rules (one of them a
derive chain) and one case. Tests then change one thing and look at what is reported.

    root = make_repo(tmp_path, rules=[rule("AZA-X-001", when={...})], files={"guidelines/x.yaml": "..."})
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

MAIN = Path(__file__).resolve().parents[1]
SCHEMA_DIR = MAIN / "schema"
TODAY = "2026-11-22"  # validation in tests passes this date, so review dates never drift into warnings

FACTS: dict[str, Any] = {
    "azathioprine_status": {
        "label": "azathioprine treatment status",
        "type": "category",
        "description": "Where the patient stands with azathioprine.",
        "values": {"planned": "about to start", "taking": "taking it now", "stopped": "stopped"},
    },
    "tpmt_status": {
        "label": "TPMT activity",
        "type": "category",
        "description": "Thiopurine methyltransferase activity.",
        "values": {"normal": "normal activity", "intermediate": "intermediate", "absent": "absent"},
    },
    "wbc": {
        "label": "white cell count",
        "type": "number",
        "unit": "10*9/L",
        "range": {"min": 0, "max": 500},
        "description": "Total white blood cell count.",
        "conversions": [{"unit": "10*3/uL", "factor": 1}],
    },
    "weight": {
        "label": "body weight",
        "type": "number",
        "unit": "kg",
        "range": {"min": 1, "max": 400},
        "description": "Body weight.",
        "conversions": [{"unit": "[lb_av]", "factor": 0.45359237}],
    },
    "medications": {"label": "current medicines", "type": "list", "description": "Medicines taken now."},
    "severe_cytopenia": {
        "label": "severe cytopenia",
        "type": "boolean",
        "derived": True,
        "description": "Set by rules when a blood count is dangerously low.",
    },
}

SUBJECTS = {
    "azathioprine": {"label": "Azathioprine", "kind": "drug"},
    "tpmt-test": {"label": "TPMT activity test", "kind": "test"},
    "full-blood-count": {"label": "Full blood count", "kind": "test"},
}
TOPICS = {
    "contraindications": {"title": "Contraindications", "description": "When not to start."},
    "monitoring": {"title": "Monitoring", "description": "Blood tests on treatment."},
    "dosing": {"title": "Dosing", "description": "How much to give."},
    "interactions": {"title": "Interactions", "description": "Medicines that do not mix."},
}
REFERENCES = {
    "test-guideline": {"kind": "guideline", "title": "A test guideline", "authors": ["Editors"], "year": 2024},
}
VALUESETS = {
    "xanthine-oxidase-inhibitors": {
        "name": "xanthine-oxidase-inhibitors",
        "title": "Xanthine-oxidase inhibitors",
        "description": "Medicines that block the breakdown of azathioprine.",
        "values": ["allopurinol", "febuxostat"],
    },
}


def rule(rule_id: str = "AZA-TPMT-002", topic: str = "contraindications", **fields: Any) -> dict[str, Any]:
    """A complete, valid rule; keyword arguments replace whole fields (`when=`, `then=`, ...)."""
    data: dict[str, Any] = {
        "id": rule_id,
        "version": "1.0.0",
        "status": "active",
        "title": "Do not start azathioprine when TPMT activity is absent",
        "topic": topic,
        "when": {"all": [
            {"fact": "tpmt_status", "equals": "absent"},
            {"fact": "azathioprine_status", "equals": "planned"},
        ]},
        "then": [{"action": "avoid", "subject": "azathioprine", "strength": "strong",
                  "text": "Absent TPMT activity: do not start azathioprine."}],
        "rationale": "Absent TPMT activity leads to life-threatening marrow toxicity.",
        "citations": [{"ref": "test-guideline", "locator": "section 1"}],
        "evidence": {"certainty": "not_graded", "scheme": "none"},
        "review": {"authors": ["Editors"], "approved": "2026-01-01", "next_review": "2099-01-01"},
        "changelog": [{"version": "1.0.0", "date": "2026-01-01", "change": "First version"}],
    }
    data.update(copy.deepcopy(fields))
    return data


def default_rules() -> list[dict[str, Any]]:
    """Five rules reading every fact: a block, a derive chain (low white cells -> severe
    cytopenia -> stop), a weight-based dose, and a value-set interaction."""
    return [
        rule(),
        rule("AZA-DOSE-001", topic="dosing", title="Standard dose with normal TPMT activity",
             when={"all": [{"fact": "tpmt_status", "equals": "normal"},
                           {"fact": "azathioprine_status", "one_of": ["planned", "taking"]},
                           {"fact": "weight", "known": True}]},
             then=[{"action": "dose", "subject": "azathioprine", "strength": "conditional",
                    "text": "Give 2 to 2.5 mg/kg/day.", "dose": {"min": 2, "max": 2.5, "unit": "mg/kg/day"}}]),
        rule("AZA-XO-001", topic="interactions", title="Avoid azathioprine with a xanthine-oxidase inhibitor",
             when={"fact": "medications", "contains": {"valueset": "xanthine-oxidase-inhibitors"}},
             then=[{"action": "caution", "subject": "azathioprine", "strength": "strong",
                    "text": "Allopurinol and febuxostat raise azathioprine levels; reduce the dose."}]),
        rule("AZA-CBC-001", topic="monitoring", title="Very low white cells are a severe cytopenia",
             when={"fact": "wbc", "below": 2}, then=[{"action": "derive", "fact": "severe_cytopenia"}]),
        rule("AZA-CBC-002", topic="monitoring", title="Stop azathioprine in severe cytopenia",
             when={"fact": "severe_cytopenia", "equals": True},
             then=[{"action": "stop", "subject": "azathioprine", "strength": "strong",
                    "text": "Stop azathioprine now and repeat the blood count."}]),
    ]


def case(case_id: str = "tpmt-absent-blocks-start", **fields: Any) -> dict[str, Any]:
    """A complete, valid case; keyword arguments replace whole fields."""
    data: dict[str, Any] = {
        "id": case_id,
        "title": "Absent TPMT activity blocks a planned start",
        "story": "A woman is about to start azathioprine; TPMT activity is absent.",
        "facts": {"azathioprine_status": "planned", "tpmt_status": "absent", "weight": 62},
        "expect": {
            "present": [{"action": "avoid", "subject": "azathioprine", "rule": "AZA-TPMT-002"}],
            "absent": [{"action": "start", "subject": "azathioprine"}],
        },
    }
    data.update(copy.deepcopy(fields))
    return data


def dump(data: Any) -> str:
    """YAML as an editor would write it (dates stay quoted strings, keys in written order)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def write(root: Path, relative: str, content: str | bytes | Mapping[str, Any]) -> Path:
    """Write one repository-relative file: text as is, bytes raw, a mapping as YAML."""
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    elif isinstance(content, str):
        target.write_bytes(content.encode("utf-8"))
    else:
        target.write_bytes(dump(dict(content)).encode("utf-8"))
    return target


def make_repo(
    tmp_path: Path,
    *,
    rules: Iterable[Mapping[str, Any]] | None = None,
    facts: Mapping[str, Any] | None = None,
    cases: Iterable[Mapping[str, Any]] | None = None,
    files: Mapping[str, str | bytes | Mapping[str, Any]] | None = None,
) -> Path:
    """A valid repository under tmp_path/repo; `files` (repo-relative) are written last and win.

    rules: placed at guidelines/rules/<topic>/<id>.yaml (default: default_rules()).
    facts: the whole `facts:` mapping (default: FACTS).
    cases: placed at tests/cases/<topic or "general">/<id>.yaml; a case may carry
           `_topic` to choose its folder (removed before writing).
    """
    root = tmp_path / "repo"
    shutil.copytree(SCHEMA_DIR, root / "schema")
    write(root, "guidelines/facts.yaml", {"facts": dict(facts if facts is not None else FACTS)})
    write(root, "guidelines/subjects.yaml", {"subjects": SUBJECTS})
    write(root, "guidelines/topics.yaml", {"topics": TOPICS})
    write(root, "guidelines/references.yaml", {"references": REFERENCES})
    for name, valueset in VALUESETS.items():
        write(root, f"guidelines/valuesets/{name}.yaml", valueset)
    for data in default_rules() if rules is None else rules:
        write(root, f"guidelines/rules/{data['topic']}/{data['id']}.yaml", data)
    for data in [case()] if cases is None else cases:
        body = {k: v for k, v in data.items() if k != "_topic"}
        write(root, f"tests/cases/{data.get('_topic', 'general')}/{data['id']}.yaml", body)
    for relative, content in (files or {}).items():
        write(root, relative, content)
    return root
