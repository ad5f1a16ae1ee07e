"""The page-cache warmer: asks for regular files only, never blocks on odd ones, stops with the reading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.prefetch import Prefetch, reading_order


def test_files_are_asked_for_from_both_ends_of_the_batch() -> None:
    assert reading_order(["a", "b", "c", "d", "e"]) == ["a", "e", "b", "d", "c"]
    assert reading_order(["a", "b"]) == ["a", "b"]
    assert reading_order([]) == []


@pytest.mark.skipif(not hasattr(os, "posix_fadvise") or not hasattr(os, "mkfifo"), reason="needs POSIX")
def test_only_regular_files_are_asked_for_and_a_fifo_does_not_block(tmp_path: Path) -> None:
    regular = [tmp_path / f"case-{i}.yaml" for i in range(3)]
    for path in regular:
        path.write_text("id: x\n")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever without O_NONBLOCK
    link = tmp_path / "link.yaml"
    link.symlink_to(regular[0])
    paths = [str(p) for p in [*regular, fifo, link, tmp_path / "missing.yaml", tmp_path]]

    with Prefetch(paths, threads=2) as prefetch:
        assert prefetch.wait(timeout=10)  # the body would be the reading; here, wait for the warmers
    assert prefetch.asked == len(regular)


def test_leaving_the_block_stops_the_warmer(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("id: x\n")
    with Prefetch([str(path)] * 200_000) as prefetch:
        pass
    assert prefetch.wait(timeout=0)
    assert prefetch.asked < 200_000
