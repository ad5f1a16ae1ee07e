"""`guideline site serve`: an editor's preview reloads when a rule changes, and stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from site_testing import make_repo


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _page(url: str, deadline: float, wanted: str = "") -> str:
    """The page at `url` once it is served (and holds `wanted`), polling until `deadline`."""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body = str(response.read().decode("utf-8"))
            if wanted in body:
                return body
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never showed {wanted!r}")


@pytest.mark.slow
def test_preview_reloads_when_a_rule_changes_and_stops_with_its_server(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "engine", "site", "serve", "--repo", str(root), "--dev-addr", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}/rules/dosing/AZA-DOSE-001/"
    try:
        _page(url, time.monotonic() + 60, "Standard starting dose")
        rule = root / "guidelines/rules/dosing/AZA-DOSE-001.yaml"
        rule.write_text(rule.read_text(encoding="utf-8").replace(
            "title: Standard starting dose", "title: Usual starting dose"), encoding="utf-8")
        _page(url, time.monotonic() + 60, "AZA-DOSE-001: Usual starting dose")
    finally:
        server.send_signal(signal.SIGTERM)
        log, _ = server.communicate(timeout=30)
    assert "guidelines" in log  # the rules folder is among the watched paths
    with pytest.raises(OSError):  # mkdocs stopped with us: nothing serves the port any more
        urllib.request.urlopen(url, timeout=2)
