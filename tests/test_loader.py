"""The safe YAML loader: what an editor's text turns into, where it was written, and what is refused."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from repo_builder import MAIN

from engine import loader
from engine.errors import Problem
from engine.loader import Document, load_file, parse_text


def data_of(text: str | bytes) -> object:
    document = parse_text(text.encode("utf-8") if isinstance(text, str) else text, "f.yaml")
    assert isinstance(document, Document), document
    return document.data


def problem_of(text: str | bytes) -> Problem:
    problem = parse_text(text.encode("utf-8") if isinstance(text, str) else text, "f.yaml")
    assert isinstance(problem, Problem), f"expected a problem, got data {problem}"
    return problem


# ---------------------------------------------------------------- values stay what the editor wrote


@pytest.mark.parametrize("written", ["2026-01-01", "2026-13-45", "2026-01-01T10:00:00", "2026-01-01 10:00:00"])
def test_dates_stay_text_so_that_the_schema_can_check_them(written: str) -> None:
    assert data_of(f"approved: {written}\n") == {"approved": written}


@pytest.mark.parametrize("word", ["yes", "no", "Yes", "NO", "on", "off", "y", "n", "Y", "N"])
def test_yes_and_no_stay_text_instead_of_turning_into_true_or_false(word: str) -> None:
    assert data_of(f"permanent: {word}\n") == {"permanent": word}


@pytest.mark.parametrize(("written", "value"), [
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False),
    ("~", None), ("null", None), ("", None),
])
def test_true_false_and_null_are_understood(written: str, value: object) -> None:
    assert data_of(f"a: {written}\n") == {"a": value}


@pytest.mark.parametrize(("written", "value"), [
    ("3", 3), ("-3", -3), ("+3", 3), ("2.5", 2.5), (".5", 0.5), ("1e3", 1000.0), ("1E-3", 0.001),
    ("1000000000000", 1_000_000_000_000),
])
def test_numbers_are_numbers(written: str, value: float) -> None:
    assert data_of(f"a: {written}\n") == {"a": value}


@pytest.mark.parametrize("written", ["0o17", "0x1F", "1_000", "1,5", "12:30", "3.5 mg"])
def test_number_lookalikes_of_yaml_1_1_stay_text(written: str) -> None:
    """YAML 1.1 reads 0x1F as 31 and 12:30 as 750 (base 60); an editor means neither."""
    assert data_of(f"a: {written}\n") == {"a": written}


def test_quoted_values_are_always_text() -> None:
    assert data_of("a: \"3\"\nb: 'true'\nc: \"2026-01-01\"\n") == {"a": "3", "b": "true", "c": "2026-01-01"}


def test_unicode_text_is_kept_as_written() -> None:
    assert data_of("unit: ×10⁹/L\nname: Behçet's disease\n") == {"unit": "×10⁹/L", "name": "Behçet's disease"}


def test_keys_are_always_text() -> None:
    assert data_of("1: a\ntrue: b\n~: c\n") == {"1": "a", "true": "b", "~": "c"}


def test_plain_anchors_and_aliases_are_allowed() -> None:
    assert data_of("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}


def test_json_is_read_too() -> None:
    assert data_of('{"id": "AZA-X-001", "n": [1, 2.5, true, null]}') == {"id": "AZA-X-001", "n": [1, 2.5, True, None]}


# ---------------------------------------------------------------- duplicate keys


def test_a_duplicate_key_names_both_lines() -> None:
    problem = problem_of("when:\n  fact: tpmt_status\n  equals: absent\n  equals: intermediate\n")
    assert (problem.code, problem.location.line, problem.location.col) == ("E-DUPLICATE-KEY", 4, 3)
    assert "duplicate key 'equals' (first written on line 3)" in problem.message


def test_a_duplicate_key_in_a_flow_mapping_is_found() -> None:
    problem = problem_of("id: x\nevidence: {scheme: none, scheme: GRADE}\n")
    assert (problem.code, problem.location.line) == ("E-DUPLICATE-KEY", 2)


def test_a_quoted_key_is_the_same_key_as_a_plain_one() -> None:
    problem = problem_of("title: a\n'title': b\n")
    assert (problem.code, problem.location.line) == ("E-DUPLICATE-KEY", 2)
    assert "first written on line 1" in problem.message


def test_the_same_key_in_two_list_items_is_not_a_duplicate() -> None:
    assert data_of("- {fact: a}\n- {fact: b}\n") == [{"fact": "a"}, {"fact": "b"}]


# ---------------------------------------------------------------- positions


def test_positions_of_values_and_keys_follow_the_text() -> None:
    document = parse_text(b"id: X\nwhen:\n  all:\n    - fact: wbc\n      below: 2\n", "r.yaml")
    assert isinstance(document, Document)
    assert str(document.at(("when", "all", 0, "below"))) == "r.yaml:5:14"
    assert str(document.at(("when", "all", 0, "below"), key=True)) == "r.yaml:5:7"
    assert str(document.at(("when", "all", 0))) == "r.yaml:4:7"


def test_a_path_that_does_not_exist_points_at_its_nearest_parent() -> None:
    document = parse_text(b"id: X\nreview:\n  approved: '2026-01-01'\n", "r.yaml")
    assert isinstance(document, Document)
    assert document.at(("review", "next_review")).line == 3  # the mapping that lacks it starts on line 3


@pytest.mark.parametrize("ending", [b"\r\n", b"\r"])
def test_windows_and_old_mac_line_endings_read_like_unix_ones(ending: bytes) -> None:
    text = b"id: X\nwhen:\n  fact: wbc\n  below: 2\n"
    unix = parse_text(text, "a.yaml")
    other = parse_text(text.replace(b"\n", ending), "a.yaml")
    assert isinstance(unix, Document) and isinstance(other, Document)
    assert other.data == unix.data
    assert other.positions == unix.positions


def test_a_byte_order_mark_is_dropped_and_lines_stay_right() -> None:
    document = parse_text(b"\xef\xbb\xbfid: X\ntitle: T\n", "a.yaml")
    assert isinstance(document, Document)
    assert document.data == {"id": "X", "title": "T"}
    assert str(document.at(("title",))) == "a.yaml:2:8"


# ---------------------------------------------------------------- refused input


@pytest.mark.parametrize(("text", "code", "line", "words"), [
    ("a: 1\nb: !!python/object/apply:os.system [ls]\n", "E-TAG", 2, "YAML tags such as"),
    ("a: !!binary aGVsbG8=\n", "E-TAG", 1, "tag:yaml.org,2002:binary"),
    ("a: !!set {x, y}\n", "E-TAG", 1, "tag:yaml.org,2002:set"),
    ("a: !!int '3'\n", "E-TAG", 1, "tag:yaml.org,2002:int"),
    ("a: !env HOME\n", "E-TAG", 1, "'!env'"),
    ("base: &b {x: 1}\nc:\n  <<: *b\n", "E-TAG", 3, "merge keys"),
    ("? [a, b]\n: 1\n", "E-KEY", 1, "a key must be a plain word"),
    ("a: .inf\n", "E-NUMBER", 1, "not a finite number"),
    ("a: -.Inf\n", "E-NUMBER", 1, "not a finite number"),
    ("a: .NaN\n", "E-NUMBER", 1, "not a finite number"),
    ("a: 1e309\n", "E-NUMBER", 1, "out of any sensible range"),
    ("a: 1000000000001\n", "E-NUMBER", 1, "out of any sensible range"),
    ("a: 123456789012345678901234567890\n", "E-NUMBER", 1, "out of any sensible range"),
    ("a: 1\n---\nb: 2\n", "E-YAML", 2, "more than one YAML document"),
    ("a:\n\tb: 1\n", "E-YAML", 2, "tab character"),
    ('a: 1\nb: "open\n', "E-YAML", 2, "closing quote is missing"),
    ("a: 1\nb c\nd: 2\n", "E-YAML", 2, "is the colon"),
    ("a: 1\nb: bell\x07\n", "E-CONTROL-CHAR", 2, "U+0007"),
    ("a: 1\nb: x\u0085y\n", "E-CONTROL-CHAR", 2, "U+0085"),
    ("a: 1\nb: x\u2028y\n", "E-CONTROL-CHAR", 2, "U+2028"),
    ('a: 1\nb: "\\ud800"\n', "E-ENCODING", 2, "lone surrogate"),
])
def test_refused_text_is_named_with_its_line(text: str, code: str, line: int, words: str) -> None:
    problem = problem_of(text)
    assert (problem.code, problem.location.line) == (code, line), problem
    assert words in problem.message


@pytest.mark.parametrize(("raw", "code"), [
    (b"", "E-EMPTY"),
    (b"   \n\n", "E-EMPTY"),
    (b"# only a comment\n", "E-EMPTY"),
    (b"---\n", "E-EMPTY"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "E-BINARY"),
    (b"title: caf\xe9\n", "E-ENCODING"),
    (b"\xff\xfea\x00:\x00", "E-BINARY"),  # UTF-16 with its BOM
])
def test_files_that_are_not_yaml_text_say_so(raw: bytes, code: str) -> None:
    assert problem_of(raw).code == code


def test_the_nesting_limit_is_exact() -> None:
    def nested(levels: int) -> str:
        return "a:\n" + "".join("  " * i + "  b:\n" for i in range(levels - 2)) + "  " * (levels - 1) + "c: 1\n"

    assert isinstance(parse_text(nested(loader.MAX_DEPTH).encode(), "f.yaml"), Document)
    problem = problem_of(nested(loader.MAX_DEPTH + 1))
    assert problem.code == "E-DEPTH"
    assert f"the limit is {loader.MAX_DEPTH} levels" in problem.message


def test_very_deep_flow_nesting_is_refused_without_crashing() -> None:
    problem = problem_of("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert problem.code == "E-DEPTH"


def test_an_alias_bomb_is_stopped_early() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{c}: &{c} [{', '.join(['*' + p] * 10)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    problem = problem_of("\n".join(lines) + "\n")
    assert problem.code == "E-ALIAS-BOMB"
    assert f"more than {loader.MAX_NODES} values" in problem.message


def test_a_huge_flat_file_is_refused_as_too_large_and_quickly() -> None:
    """2 MB of one-letter values: refused after MAX_NODES values, not after composing all 700,000."""
    started = time.monotonic()
    problem = problem_of("values: [" + "x," * 690_000 + "x]\n")
    assert problem.code == "E-TOO-LARGE"
    assert f"more than {loader.MAX_NODES} values" in problem.message
    assert time.monotonic() - started < 15


def test_many_small_values_below_the_limit_are_fine() -> None:
    text = "values: [" + ", ".join(["x"] * (loader.MAX_NODES - 10)) + "]\n"
    assert len(data_of(text)["values"]) == loader.MAX_NODES - 10  # type: ignore[index]


# ---------------------------------------------------------------- files


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: 1\n" + b"#" * 2_000)
    problem = load_file(path, "big.yaml", max_bytes=1_000)
    assert isinstance(problem, Problem)
    assert problem.code == "E-TOO-LARGE"
    assert "the limit is 0.0 MB" in problem.message or "limit" in problem.message


def test_the_default_size_limit_is_2_mib(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: 1\n#" + b"x" * loader.MAX_FILE_BYTES)
    problem = load_file(path, "big.yaml")
    assert isinstance(problem, Problem) and problem.code == "E-TOO-LARGE"


def test_symbolic_links_are_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    target.write_text("a: 1\n", "utf-8")
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    problem = load_file(link, "link.yaml")
    assert isinstance(problem, Problem) and problem.code == "E-FILE"
    assert "symbolic links are not followed" in problem.message


def test_a_folder_named_like_a_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "rule.yaml"
    folder.mkdir()
    problem = load_file(folder, "rule.yaml")
    assert isinstance(problem, Problem) and problem.code == "E-FILE"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    pipe = tmp_path / "rule.yaml"
    os.mkfifo(pipe)
    problem = load_file(pipe, "rule.yaml")
    assert isinstance(problem, Problem) and problem.code == "E-FILE"


def test_a_missing_file_is_not_a_regular_file(tmp_path: Path) -> None:
    problem = load_file(tmp_path / "gone.yaml", "gone.yaml")
    assert isinstance(problem, Problem) and problem.code == "E-FILE"


# ---------------------------------------------------------------- the quick path and the careful one
# Most files are read from libyaml's events without noting positions (loader._quick_data); the
# careful path reads whatever the quick one declines. Both must give the same data for every text
# the quick path accepts, and the quick path must decline every text the careful one refuses.

SOUP = ["\n", "  ", "- ", ": ", ":", "a", "b", "id", "[", "]", "{", "}", ", ", "&a ", "*a", "!!str ", "!x ",
        "<<: ", "'", '"', "# c", "---\n", "...\n", "? ", "|\n", ">-\n", "\t", "1e999", ".nan", "-.inf", "1e13",
        "yes", "~", "null", "true", "False", "0x1F", "3.5", "-0", "+.5", "1" * 25, "é", "\\ud800", "\u202e"]


def quick_and_careful(text: str) -> tuple[object, Document | Problem]:
    return loader._quick_data(text), loader._parse_fully(text, "f.yaml", None)


def assert_same_reading(text: str) -> None:
    quick, careful = quick_and_careful(text)
    if quick is loader._DECLINED:
        return
    assert isinstance(careful, Document), f"the quick path accepted what the careful one refuses: {careful}"
    assert json.dumps(quick) == json.dumps(careful.data)  # the same types (1 is not 1.0 nor true), order too


def every_yaml_text_of_the_project() -> list[Path]:
    folders = [MAIN / "guidelines", MAIN / "tests", MAIN / "examples"]
    return sorted(p for folder in folders for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def test_both_paths_read_every_file_of_the_project_alike() -> None:
    files = every_yaml_text_of_the_project()
    quick = 0
    for path in files:
        text = path.read_bytes().decode("utf-8-sig", "replace").replace("\r\n", "\n")
        assert_same_reading(text)
        quick += loader._quick_data(text) is not loader._DECLINED
    assert len(files) > 300 and quick > 0.9 * len(files)  # the quick path is the common one


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n", "a: !!str 3\n", "a: !x 3\n", "a: 1\na: 2\n", "<<: {a: 1}\n", "a: 1\n---\nb: 2\n",
    "a: .inf\n", "a: 1e13\n", "a: \"\\ud800\"\n", "\"\\ud800\": 1\n", "~\n", "# only a comment\n", "---\n",
    "- 1" + "1" * 25 + "\n", "? [a]\n: 1\n", "a: b: c\n", "a:\n\t- b\n", "a: [" * 50 + "]" * 50 + "\n",
    "a:\n" + "".join("  " * i + "  b:\n" for i in range(loader.MAX_DEPTH)) + "  " * (loader.MAX_DEPTH + 1) + "c: 1\n",
])
def test_the_quick_path_declines_what_only_the_careful_one_may_judge(text: str) -> None:
    assert loader._quick_data(text) is loader._DECLINED
    assert_same_reading(text)


@pytest.mark.parametrize("text", [
    "a: 1\nb: [x, 2.5, {c: true}]\nd: yes\ne: '3'\nf: |\n  t\ng: ~\n'<<': 1\n1: one\n",
    "- 1\n- -2\n- +3\n- .5\n- 1e3\n- 1E-3\n- 0o17\n- 12:30\n- 1_000\n- " + "1" * 12 + "\n- -0\n- ''\n",
    "title: Platelets of 49 ×10⁹/L\nstory: >-\n  A man\n  of 66.\nlist:\n- {action: avoid, subject: x}\n",
    "a: [" * 10 + "]" * 10 + "\n",
])
def test_the_quick_path_reads_ordinary_text_as_the_careful_one_does(text: str) -> None:
    assert loader._quick_data(text) is not loader._DECLINED
    assert_same_reading(text)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.one_of(st.sampled_from(SOUP), st.text(max_size=3)), max_size=40).map("".join))
def test_both_paths_read_yaml_like_text_alike(text: str) -> None:
    assert_same_reading(text.replace("\r\n", "\n"))


def test_positions_are_worked_out_when_first_asked_for_and_match_the_careful_path() -> None:
    raw = b"id: X\nwhen:\n  all:\n    - fact: wbc\n      below: 2\n"
    document = parse_text(raw, "r.yaml")
    assert isinstance(document, Document) and document.known_positions is None  # read on the quick path
    careful = loader._parse_fully(raw.decode(), "r.yaml", None)
    assert isinstance(careful, Document) and careful.known_positions is not None
    assert document.positions == careful.positions
    assert document.known_positions is not None  # kept for the next question
