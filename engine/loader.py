"""Safe YAML/JSON loading: files -> plain data plus a map from data paths to line numbers.

PyYAML's own loaders are not used on purpose: they keep the last of two
duplicated keys, turn `yes`/`no`/`on`/`off` into booleans and `2024-05-01`
into dates, and expand aliases without limit. We compose the node tree (which
never builds objects) and convert it ourselves, under explicit limits.
"""

from __future__ import annotations

import errno
import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import (
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from engine.errors import Location, Problem

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 40
MAX_NODES = 100_000
MAX_ABS_NUMBER = 1e12

DataPath = tuple[str | int, ...]

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = re.compile(r"^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$")
_HIDDEN_BREAK = re.compile("[\u0085\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}
_DEFAULT_TAGS = {
    ScalarNode: BaseResolver.DEFAULT_SCALAR_TAG,
    SequenceNode: BaseResolver.DEFAULT_SEQUENCE_TAG,
    MappingNode: BaseResolver.DEFAULT_MAPPING_TAG,
}
#: A plain scalar is a number (or a refused .inf/.nan) only if it starts with one of these.
_NUMBER_START = frozenset("+-.0123456789")


class _NodeLoader(Reader, Scanner, Parser, Composer, BaseResolver):
    """Composes nodes only. BaseResolver has no implicit types, so any other tag is explicit."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)
        self.composed = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # Pure-Python composing costs ~30 µs a value: stop a huge flat file early, not after a minute.
        self.composed += 1
        if self.composed > MAX_NODES:
            raise _TooManyValues(self.peek_event().start_mark.line + 1)  # type: ignore[no-untyped-call]
        return super().compose_node(parent, index)


try:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class _CNodeLoader(CParser, BaseResolver):
        """libyaml's composer, with no implicit types: the same nodes as _NodeLoader, faster."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            BaseResolver.__init__(self)

        def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
            # BaseResolver, with no implicit or path resolvers, always answers the kind's default tag;
            # libyaml asks once per value, and answering directly saves a tenth of the loading time.
            return _DEFAULT_TAGS[kind]

    _CParser: Any = CParser
except ImportError:  # PyYAML built without libyaml: the Python composer does all the work
    _CNodeLoader = None  # type: ignore[assignment,misc]
    _CParser = None


class _TooManyValues(Exception):
    """Internal: the text holds more values than any guideline file could need."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


@dataclass(frozen=True)
class Positions:
    """Where each value (and each mapping key) of a document starts in its file."""

    values: dict[DataPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[DataPath, tuple[int, int]] = field(default_factory=dict)

    def of_value(self, path: DataPath) -> tuple[int, int]:
        """The line and column of the value at `path`, or of its nearest ancestor."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found:
                return found
        return (1, 1)

    def of_key(self, path: DataPath) -> tuple[int, int]:
        """The line and column of the key that names `path`, falling back to its value."""
        return self.keys.get(path) or self.of_value(path)


@dataclass(frozen=True)
class Document:
    """A parsed file: its plain data and where each part of it was written.

    Most files are read without noting where each value is written (see `_quick_data`): the
    positions are worked out from `text` the first time a problem in the file asks for one.
    """

    path: str  # as the file was opened
    display: str
    data: Any
    text: str = field(default="", repr=False, compare=False)
    known_positions: Positions | None = field(default=None, repr=False, compare=False)

    @property
    def positions(self) -> Positions:
        """Where each value and key starts; the text is parsed again, once, if they were not noted."""
        if self.known_positions is None:
            object.__setattr__(self, "known_positions", _positions_of(self.text, self.display))
        assert self.known_positions is not None
        return self.known_positions

    def at(self, path: DataPath, *, key: bool = False) -> Location:
        line, col = self.positions.of_key(path) if key else self.positions.of_value(path)
        return Location(self.display, line, col)


class _LoadFailure(Exception):
    """Internal: carries one problem out of the recursive converter."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def load_file(path: Path | str, display: str, *, max_bytes: int = MAX_FILE_BYTES,
              status: os.stat_result | None = None) -> Document | Problem:
    """Read and parse one YAML or JSON file; a problem is returned, never raised.

    `status` is the path's os.lstat, when the caller has it already.
    """
    where = Location(display)
    try:
        size = _regular_file_size(path, status)
        if size is None:
            if not os.path.lexists(path):
                return Problem(where, "no such file or folder", "E-FILE")
            return Problem(where, "not a regular file (symbolic links are not followed)", "E-FILE")
        if size > max_bytes:
            return Problem(
                where,
                f"file is too large ({size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB)",
                "E-TOO-LARGE",
            )
        raw = _read_bytes(path, size)
    except OSError as exc:
        return Problem(where, f"cannot read the file: {exc.strerror or exc}", "E-READ")
    return parse_text(raw, display, path)


#: The errors for which pathlib's is_file() answers False instead of raising.
_NOT_THERE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def _regular_file_size(path: Path | str, status: os.stat_result | None) -> int | None:
    """The size of a regular file that is not a symbolic link, else None; one system call, not three."""
    if status is None:
        try:
            status = os.lstat(path)
        except OSError as exc:
            if exc.errno in _NOT_THERE:
                return None
            raise
    return status.st_size if stat.S_ISREG(status.st_mode) else None


#: O_NOFOLLOW: a file swapped for a link since it was checked is refused, not followed.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


def _read_bytes(path: Path | str, size: int) -> bytes:
    """The whole file, expected to hold `size` bytes: a few system calls, no buffered file object."""
    descriptor = os.open(path, _OPEN_FLAGS)
    try:
        raw = os.read(descriptor, size + 1)
        while len(raw) > size and (more := os.read(descriptor, 1 << 20)):  # it grew since: read on
            raw += more
        return raw
    finally:
        os.close(descriptor)


def parse_text(raw: bytes, display: str, path: Path | str | None = None) -> Document | Problem:
    """Parse bytes as one YAML document (JSON is YAML too)."""
    where = Location(display)
    text = _decode(raw, where)
    if isinstance(text, Problem):
        return text
    if not text or text.isspace():
        return Problem(where, "the file is empty", "E-EMPTY")
    hidden_break = None if text.isascii() else _HIDDEN_BREAK.search(text)
    if hidden_break:  # YAML counts these as line breaks; editors do not, so every line number would be off
        return _control_character_problem(text, hidden_break.start(), display)
    quick = _quick_data(text)
    if quick is not _DECLINED:
        return Document(str(path or display), display, quick, text)
    return _parse_fully(text, display, path)


def _parse_fully(text: str, display: str, path: Path | str | None) -> Document | Problem:
    """The careful path: every problem found and located, every position noted."""
    where = Location(display)
    try:
        node = _compose_single(text)
    except _NoDocument:
        return Problem(where, "the file holds no data, only comments or blank lines", "E-EMPTY")
    except _TooManyValues as exc:
        return Problem(Location(display, exc.line, 1), f"the file holds more than {MAX_NODES} values; "
                       "a guideline file needs far fewer (is this the right file?)", "E-TOO-LARGE")
    except yaml.MarkedYAMLError as exc:
        return _syntax_problem(exc, display, text)
    except yaml.reader.ReaderError as exc:
        return _control_character_problem(text, exc.position, display)
    except yaml.YAMLError as exc:
        return Problem(where, f"not valid YAML: {exc}", "E-YAML")
    except RecursionError:
        return Problem(where, f"nesting is too deep (the limit is {MAX_DEPTH} levels)", "E-DEPTH")
    positions = Positions()
    try:
        data = _Converter(display, positions).convert(node, ())
    except _LoadFailure as failure:
        return failure.problem
    if data is None:  # `---` or `~` alone: nothing an editor meant to write
        return Problem(where, "the file holds no data, only comments or blank lines", "E-EMPTY")
    return Document(str(path or display), display, data, text, positions)


def _positions_of(text: str, display: str) -> Positions:
    """The positions of a text the quick path read (the careful path gives the same data)."""
    parsed = _parse_fully(text, display, None)
    return parsed.positions if isinstance(parsed, Document) else Positions()


def _decode(raw: bytes, where: Location) -> str | Problem:
    if b"\x00" in raw:
        return Problem(where, "this is a binary file, not YAML text", "E-BINARY")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Problem(where, f"not UTF-8 text (bad byte at offset {exc.start}); save the file as UTF-8", "E-ENCODING")
    return text.replace("\r\n", "\n")


def _compose_single(text: str) -> Node:
    fast = _compose_with_libyaml(text)
    if fast is not None:
        return fast
    loader = _NodeLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is None:
        raise _NoDocument
    return node


#: libyaml composes in C, recursively: safe only where nesting is shallow (see _nesting_bound).
_LIBYAML_DEPTH_BOUND = 1000


def _compose_with_libyaml(text: str) -> Node | None:
    """The node tree composed by libyaml (about 20× faster), or None to use the Python composer.

    Only well-formed, shallow, modest texts take this path. Anything libyaml rejects goes to the
    Python composer, whose error messages the editors' tests pin; so does any text that might nest
    deeply enough to overflow the C stack, or hold more values than MAX_NODES.
    """
    if _CNodeLoader is None or len(text) > MAX_NODES * 4 or _may_nest_deeply(text):
        return None
    loader = _CNodeLoader(text)
    try:
        node: Node | None = loader.get_single_node()
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return node


def _may_nest_deeply(text: str) -> bool:
    """_nesting_bound(text) > _LIBYAML_DEPTH_BOUND, worked out line by line only when a cheap bound allows it."""
    # A line's `- ` and `: ` are among the whole text's, so indentation under 100 spaces
    # and a text-wide count of at most 900 keep the bound under 1,000 without splitting lines.
    flat = text.count("- ") + text.count(": ") + text.count("[") + text.count("{")
    if flat <= _LIBYAML_DEPTH_BOUND - 100 and not _WIDE_INDENT.search(text):
        return False
    return _nesting_bound(text) > _LIBYAML_DEPTH_BOUND


_WIDE_INDENT = re.compile(r"(?:^|\n) {100}")


def _nesting_bound(text: str) -> int:
    """An upper bound on how deeply the text can nest: indentation, compact `- -` runs, brackets."""
    lines = text.split("\n")
    indent = max((len(line) - len(line.lstrip(" ")) for line in lines), default=0)
    dashes = max((line.count("- ") + line.count(": ") for line in lines), default=0)
    return indent + dashes + text.count("[") + text.count("{")


class _Declined(Exception):
    """Internal: the quick path leaves this text to the careful one."""


_DECLINED: Any = _Declined  # what _quick_data answers for a text it leaves to the careful path


def _quick_data(text: str) -> Any:
    """The text's data straight from libyaml's events, or _DECLINED.

    Reading a file this way notes no positions and builds no node tree, about three times
    faster. It takes only what the careful path (_parse_fully) would read without a problem and
    turns into the same data: anything unusual (a tag, an anchor, a duplicate or merge key, a
    refused number, deep nesting, a syntax error) is declined, and the careful path then reads
    the text and words the problem. tests/test_loader.py holds the two paths to the same answers.
    """
    # No nesting bound is needed here, unlike _compose_with_libyaml: libyaml's parser keeps its
    # state on the heap, and the reader below declines a value deeper than MAX_DEPTH when it meets it.
    if _CParser is None or len(text) > MAX_NODES * 4:
        return _DECLINED
    parser = _CParser(text)
    try:
        return _EventReader(parser.get_event).document()
    except (_Declined, yaml.YAMLError):
        return _DECLINED
    finally:
        parser.dispose()


class _EventReader:
    """Builds plain data from one text's events, declining what the careful path alone may judge.

    Written for speed (it reads every file of a big repository): a scalar value is taken where
    it is met, and values are counted a container at a time.
    """

    def __init__(self, next_event: Any) -> None:
        self.next_event = next_event
        self.values = 0

    def document(self) -> Any:
        self.next_event()  # the stream starts
        if type(self.next_event()) is not DocumentStartEvent:
            raise _Declined  # no document at all
        data = self.value(self.next_event(), 0)
        self.next_event()  # the document ends
        if data is None or type(self.next_event()) is not StreamEndEvent:
            raise _Declined  # nothing written, or a second document
        return data

    def value(self, event: Any, depth: int) -> Any:
        """Any value; `depth` is the length of its path in the data (the root's is 0)."""
        if event.anchor is not None or event.tag is not None:
            raise _Declined
        kind = type(event)
        if kind is ScalarEvent:
            return _scalar(event.value, event.style)
        if depth >= MAX_DEPTH:  # its items would lie deeper than the careful path allows
            raise _Declined
        if kind is MappingStartEvent:
            return self.mapping(depth + 1)
        if kind is SequenceStartEvent:
            return self.sequence(depth + 1)
        raise _Declined  # an alias

    def mapping(self, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        next_event = self.next_event
        while type(key := next_event()) is ScalarEvent:
            name = key.value
            if key.anchor is not None or key.tag is not None or name in result or (
                    name == "<<" and not key.style) or (not name.isascii() and _has_surrogate(name)):
                raise _Declined
            event = next_event()
            if type(event) is ScalarEvent and event.anchor is None and event.tag is None:
                result[name] = _scalar(event.value, event.style)
            else:
                result[name] = self.value(event, depth)
        if type(key) is not MappingEndEvent:
            raise _Declined  # a key that is a list or a mapping
        self.counted(len(result))
        return result

    def sequence(self, depth: int) -> list[Any]:
        items = []
        next_event = self.next_event
        while type(event := next_event()) is not SequenceEndEvent:
            items.append(self.value(event, depth))
        self.counted(len(items))
        return items

    def counted(self, values: int) -> None:
        self.values += values
        if self.values >= MAX_NODES:  # the careful path counts the root too, and refuses more than MAX_NODES
            raise _Declined


#: Plain scalar text -> its value, for texts met before: the same few words and numbers recur in
#: file after file. Only values scalar_value accepts are kept; bounded, as texts are unbounded.
_PLAIN_VALUES: dict[str, Any] = {}
_PLAIN_VALUES_MAX = 50_000


def _scalar(text: str, style: str | None) -> Any:
    """scalar_value for the fast reader: a plain text's value worked out once, a refusal declined."""
    if style:
        return scalar_value(text, style, _decline)
    value = _PLAIN_VALUES.get(text, _DECLINED)
    if value is _DECLINED:
        value = scalar_value(text, None, _decline)
        if len(_PLAIN_VALUES) < _PLAIN_VALUES_MAX:
            _PLAIN_VALUES[text] = value
    return value


def _decline(message: str, code: str) -> Exception:
    """The fast reader's answer to a scalar with a problem: leave the file to the careful path."""
    return _Declined()


def scalar_value(text: str, style: str | None, refuse: Callable[[str, str], Exception]) -> Any:
    """A scalar's value: text when quoted or a block, else null, yes/no, a number or text as written.
    `refuse(message, code)` makes the exception raised for a scalar no fact may hold."""
    if not text.isascii() and _has_surrogate(text):  # from an escape such as "\ud800": no UTF-8 text holds it
        raise refuse("the text holds an invalid character escape (a lone surrogate); delete it", "E-ENCODING")
    if style:  # quoted or block text stays text (plain is None, or '' from libyaml)
        return text
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text[0] not in _NUMBER_START:
        return text
    if _SPECIAL_FLOAT.match(text):
        raise refuse(f"'{text}' is not a finite number; write a real value", "E-NUMBER")
    if _INT.match(text) or _FLOAT.match(text):
        value: int | float = int(text) if _INT.match(text) and len(text) < 20 else float(text)
        if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
            raise refuse(f"the number {text} is out of any sensible range", "E-NUMBER")
        return value
    return text


class _NoDocument(yaml.YAMLError):
    """Internal: the text holds only comments, blank lines or a bare `---`."""


def _control_character_problem(text: str, position: int, display: str) -> Problem:
    line = text.count("\n", 0, position) + 1
    col = position - (text.rfind("\n", 0, position) + 1) + 1
    char = text[position] if position < len(text) else "?"
    return Problem(
        Location(display, line, col),
        f"the file contains a control character (U+{ord(char):04X}) that YAML text may not hold; delete it",
        "E-CONTROL-CHAR",
    )


def _syntax_problem(exc: yaml.MarkedYAMLError, display: str, text: str) -> Problem:
    problem, context = str(exc.problem or ""), str(exc.context or "")
    mark = exc.problem_mark or exc.context_mark
    if ("end of stream" in problem and "quoted scalar" in context) or "expected ':'" in problem:
        mark = exc.context_mark or mark  # where the broken text starts, not where reading gave up
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = _syntax_message(problem, context)
    quote_line = _unclosed_double_quote(text, line) if message.startswith("YAML syntax error") else None
    if quote_line:  # a quoted text may run over lines, so YAML only stumbles far below the real slip
        message = f"a double quote opened on this line is never closed (YAML read on to line {line})"
        line, col = quote_line, 1
    return Problem(Location(display, line, col), message, "E-YAML")


def _syntax_message(problem: str, context: str) -> str:
    if "end of stream" in problem and "quoted scalar" in context:
        return "a quoted text starts here but its closing quote is missing"
    if "'\\t'" in problem or "\t" in problem:
        return "a tab character is used for indentation; YAML needs spaces"
    if "expected a single document" in problem or "but found another document" in problem:
        return "the file holds more than one YAML document (`---`); keep one rule per file"
    if "special characters are not allowed" in problem or "unacceptable character" in problem:
        return "the file contains a control character that is not allowed in YAML text"
    if "mapping values are not allowed" in problem:
        return ("a colon followed by a space is not allowed here: put text that holds ': ' in quotes, "
                "or check the indentation")
    if "expected ':'" in problem:
        return "this line is not in `name: value` form; is the colon (or the space after it) missing?"
    return f"YAML syntax error: {problem} {context}".rstrip() + "; check indentation and quotes"


def _unclosed_double_quote(text: str, before: int) -> int | None:
    """The first line above `before` with an odd number of double quotes, if any."""
    for number, line in enumerate(text.split("\n")[: before - 1], start=1):
        if not line.lstrip().startswith("#") and (line.count('"') - line.count('\\"')) % 2:
            return number
    return None


def _has_surrogate(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


class _Converter:
    """Turns a node tree into plain data, recording positions and enforcing limits."""

    def __init__(self, display: str, positions: Positions) -> None:
        self.display = display
        self.positions = positions
        self.nodes = 0

    def fail(self, node: Node, message: str, code: str) -> _LoadFailure:
        mark = node.start_mark
        return _LoadFailure(Problem(Location(self.display, mark.line + 1, mark.column + 1), message, code))

    def convert(self, node: Node, path: DataPath) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, f"the file expands to more than {MAX_NODES} values (an alias bomb?)", "E-ALIAS-BOMB")
        if len(path) > MAX_DEPTH:
            raise self.fail(node, f"nesting is too deep (the limit is {MAX_DEPTH} levels)", "E-DEPTH")
        if node.tag not in _PLAIN_TAGS:
            raise self.fail(node, f"YAML tags such as '{node.tag}' are not allowed; write plain values", "E-TAG")
        self.positions.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self._scalar(node)

    def _mapping(self, node: MappingNode, path: DataPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or (
                isinstance(key_node, ScalarNode) and key_node.value == "<<" and not key_node.style
            ):
                raise self.fail(key_node, "merge keys (`<<`) are not allowed; write each field out", "E-TAG")
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _PLAIN_TAGS or _has_surrogate(
                key_node.value
            ):
                raise self.fail(key_node, "a key must be a plain word", "E-KEY")
            key = str(key_node.value)
            if key in result:
                first_line = self.positions.keys[(*path, key)][0]
                raise self.fail(
                    key_node,
                    f"duplicate key '{key}' (first written on line {first_line}); "
                    "keep one and delete the other",
                    "E-DUPLICATE-KEY",
                )
            self.positions.keys[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.convert(value_node, (*path, key))
        return result

    def _scalar(self, node: ScalarNode) -> Any:
        return scalar_value(node.value, node.style, lambda message, code: self.fail(node, message, code))
