"""The command line answers --help and refuses a directory that is no repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main


def test_help_lists_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "validate" in out
    assert "exit codes" in out


def test_outside_a_repository_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--repo", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no guideline repository" in err
    assert "Traceback" not in err
