"""A quick yes/no to "does this document match its JSON Schema?": never yes where jsonschema says no.

jsonschema builds a validator object for every value it checks and resolves each `$ref`
through URLs: about 0.8 ms for one rule, most of what validate costs at thousands of rules.
Almost every file is valid, so engine.schema asks this predicate first and runs jsonschema,
whose errors editors read, only when the answer is no. Each schema is compiled once into
nested closures covering the keywords our schemas use; a schema holding any other keyword
jsonschema knows gets no quick answer at all (`compile_quick` returns None), and wherever an
answer would need care (lists of non-text items, enums of lists) the predicate says no, which
costs only time. tests/test_schema_quick.py compares it with jsonschema on mutated documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sized
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

Accepts = Callable[[Any], bool]
Keyword = Callable[["_Compiler", str, Any, Mapping[str, Any]], Accepts | None]

#: Keywords that change how `$ref` resolves or that nothing here evaluates: a schema using one is not compiled.
_UNSUPPORTED_ANYWHERE = {"$id", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$recursiveRef", "$vocabulary"}


class _Unsupported(Exception):
    """Internal: the schema uses something this module does not evaluate; jsonschema alone decides."""


def compile_quick(
    documents: Mapping[str, Any], name: str, format_checker: FormatChecker
) -> Accepts | None:
    """The quick predicate for schema file `name` (a key of `documents`), or None if it cannot have one."""
    try:
        return _Compiler(documents, format_checker).reference(name, f"{name}#")
    except _Unsupported:
        return None


class _Compiler:
    def __init__(self, documents: Mapping[str, Any], format_checker: FormatChecker) -> None:
        self.documents = documents
        self.format_checker = format_checker
        self.compiled: dict[tuple[str, str], Accepts] = {}

    def reference(self, base: str, ref: str) -> Accepts:
        """`file.schema.json#/json/pointer` or `#/json/pointer`, compiled once; cycles go through a cell."""
        name, _, pointer = ref.partition("#")
        key = (name or base, pointer)
        if key not in self.compiled:
            cell: list[Accepts] = []
            self.compiled[key] = lambda instance: cell[0](instance)  # for a schema that refers to itself
            cell.append(self.schema(key[0], _resolve(self.documents, *key)))
            self.compiled[key] = cell[0]
        return self.compiled[key]

    def schema(self, base: str, schema: Any) -> Accepts:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise _Unsupported(schema)
        checks = [check for keyword, value in schema.items() if (check := self.keyword(base, keyword, value, schema))]
        return _all_of(checks)

    def by_kind(self, base: str, alternatives: list[Any]) -> dict[type, list[Accepts]] | None:
        """For anyOf/oneOf: for each Python type of plain data, the alternatives that can accept it.

        The others refuse any value of that type, so leaving them out changes no answer. None
        when the alternatives say nothing about types.
        """
        kinds = [_admitted(self, base, sub) for sub in alternatives]
        if all(kind is None for kind in kinds):
            return None
        checks = [self.schema(base, sub) for sub in alternatives]
        return {python: [check for check, kind in zip(checks, kinds, strict=True) if kind is None or python in kind]
                for python in (type(None), bool, int, float, str, list, dict)}

    def keyword(self, base: str, keyword: str, value: Any, schema: Mapping[str, Any]) -> Accepts | None:
        if keyword in _UNSUPPORTED_ANYWHERE:
            raise _Unsupported(keyword)
        if keyword not in Draft202012Validator.VALIDATORS:
            return None  # an annotation such as description or x-enum-descriptions: jsonschema ignores it too
        build = _KEYWORDS.get(keyword)
        if build is None:
            raise _Unsupported(keyword)
        return build(self, base, value, schema)


#: The Python types of plain data each JSON Schema type may match (integer: 3.0 counts as one).
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "null": (type(None),), "boolean": (bool,), "integer": (int, float), "number": (int, float),
    "string": (str,), "array": (list,), "object": (dict,),
}


def _admitted(c: _Compiler, base: str, schema: Any, depth: int = 0) -> set[type] | None:
    """The Python types a schema can accept at all, from its `type` (through `$ref`s); None: any."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    found: set[type] | None = None
    if isinstance(schema.get("type"), (str, list)):
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        found = {kind for name in names for kind in _PYTHON_TYPES.get(name, (object,))}
    if isinstance(schema.get("$ref"), str):
        name, _, pointer = schema["$ref"].partition("#")
        referred = _admitted(c, name or base, _resolve(c.documents, name or base, pointer), depth + 1)
        if referred is not None:
            found = referred if found is None else found & referred
    return None if found is None or object in found else found


def _resolve(documents: Mapping[str, Any], name: str, pointer: str) -> Any:
    if name not in documents or "%" in pointer or (pointer and not pointer.startswith("/")):
        raise _Unsupported(f"{name}#{pointer}")
    node = documents[name]
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _Unsupported(f"{name}#{pointer}")
    return node


def _always(instance: Any) -> bool:
    return True


def _never(instance: Any) -> bool:
    return False


def _all_of(checks: list[Accepts]) -> Accepts:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda instance: first(instance) and second(instance)

    def accepts(instance: Any) -> bool:
        for check in checks:  # noqa: SIM110 - a loop, not all(...): no generator per value checked
            if not check(instance):
                return False
        return True
    return accepts


def _any_of(checks: list[Accepts]) -> Accepts:
    def accepts(instance: Any) -> bool:
        for check in checks:  # noqa: SIM110 - a loop, not any(...): no generator per value
            if check(instance):
                return True
        return False
    return accepts


# ------------------------------------------------------------------ values as jsonschema sees them


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and v.is_integer()),
    "number": _is_number,
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _same(option: Any, value: Any) -> bool:
    """Equal as JSON values (true is not 1); any option that is a list or object is left to jsonschema."""
    if isinstance(option, bool) or option is None:
        return value is option
    if isinstance(option, str):
        return isinstance(value, str) and value == option
    if _is_number(option):
        return _is_number(value) and value == option
    return False


def _unique_texts(items: list[Any]) -> bool:
    return all(isinstance(item, str) for item in items) and len(set(items)) == len(items)


# ------------------------------------------------------------------ keywords


def _type(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    names = value if isinstance(value, list) else [value]
    if any(name not in _TYPES for name in names):
        raise _Unsupported(value)
    tests = [_TYPES[name] for name in names]
    return tests[0] if len(tests) == 1 else _any_of(tests)


def _enum(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    options = list(value)
    if options and all(isinstance(option, str) for option in options):  # words: one set lookup
        words = frozenset(options)
        return lambda instance: isinstance(instance, str) and instance in words
    return lambda instance: any(_same(option, instance) for option in options)


def _const(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    return lambda instance: _same(value, instance)


def _properties(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    checks = {name: c.schema(base, sub) for name, sub in value.items()}

    def accepts(instance: Any) -> bool:
        if isinstance(instance, dict):
            for name, item in instance.items():  # a value holds a few of the many properties a schema names
                check = checks.get(name)
                if check is not None and not check(item):
                    return False
        return True
    return accepts


#: Plain values a check applied to every item of a list or mapping remembers having accepted:
#: the same words and numbers recur in file after file (a case's facts, a rule's lists).
_VALUES_REMEMBERED = 10_000
_PLAIN = frozenset({str, int, float, bool, type(None)})
_LONGEST_REMEMBERED = 100  # characters: a word or a name, not a paragraph


def _remembering(check: Accepts) -> Accepts:
    """`check`, asked once per plain value it accepts (a check is a pure function of the value)."""
    accepted: set[tuple[type, Any]] = set()

    def accepts(item: Any) -> bool:
        kind = type(item)
        if kind not in _PLAIN or (kind is str and len(item) > _LONGEST_REMEMBERED):
            return check(item)
        key = (kind, item)  # the type too: 1, 1.0 and true are equal as Python values, not as JSON
        if key in accepted:
            return True
        if not check(item):
            return False
        if len(accepted) < _VALUES_REMEMBERED:
            accepted.add(key)
        return True
    return accepts


# patternProperties and prefixItems have no builder, so `properties` and `items` stand alone here.


def _additional_properties(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    known = set(schema.get("properties", {}))
    check = _remembering(c.schema(base, value))

    def accepts(instance: Any) -> bool:
        if isinstance(instance, dict):
            for name, item in instance.items():
                if name not in known and not check(item):
                    return False
        return True
    return accepts


def _required(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    names = frozenset(value)
    return lambda instance: not isinstance(instance, dict) or names <= instance.keys()


#: Names a propertyNames check remembers having accepted (the same fact names recur in every case).
_NAMES_REMEMBERED = 10_000


def _property_names(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    check = c.schema(base, value)
    accepted: set[str] = set()

    def accepts(instance: Any) -> bool:
        if isinstance(instance, dict):
            for name in instance:
                if name not in accepted:
                    if not check(name):
                        return False
                    if len(accepted) < _NAMES_REMEMBERED:
                        accepted.add(name)
        return True
    return accepts


def _items(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    check = _remembering(c.schema(base, value))

    def accepts(instance: Any) -> bool:
        if isinstance(instance, list):
            for item in instance:  # a loop, not all(...): no generator per value
                if not check(item):
                    return False
        return True
    return accepts


def _unique_items(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts | None:
    if not value:
        return None
    return lambda instance: not isinstance(instance, list) or _unique_texts(instance)


def _size(kind: type[Sized], compare: Callable[[int, int], bool]) -> Keyword:
    def build(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
        if not _is_number(value):
            raise _Unsupported(value)
        return lambda instance: not isinstance(instance, kind) or compare(len(instance), value)
    return build


def _bound(compare: Callable[[Any, Any], bool]) -> Keyword:
    def build(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
        if not _is_number(value):
            raise _Unsupported(value)
        return lambda instance: not _is_number(instance) or compare(instance, value)
    return build


def _pattern(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    search = re.compile(value).search  # what jsonschema's re.search(pattern, instance) does, compiled once
    return lambda instance: not isinstance(instance, str) or search(instance) is not None


def _format(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    checker = c.format_checker
    return lambda instance: checker.conforms(instance, value)


def _ref(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    if not isinstance(value, str):
        raise _Unsupported(value)
    return c.reference(base, value)


def _any_of_keyword(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    by_kind = c.by_kind(base, value)
    everything = _any_of([c.schema(base, sub) for sub in value])
    if by_kind is None:
        return everything
    options = {kind: _any_of(checks) for kind, checks in by_kind.items()}
    return lambda instance: options.get(type(instance), everything)(instance)


def _one_of(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    checks = [c.schema(base, sub) for sub in value]
    by_kind = c.by_kind(base, value) or {}
    return lambda instance: sum(1 for check in by_kind.get(type(instance), checks) if check(instance)) == 1


def _all_of_keyword(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    return _all_of([c.schema(base, sub) for sub in value])


def _not(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    check = c.schema(base, value)
    return lambda instance: not check(instance)


def _if(c: _Compiler, base: str, value: Any, schema: Mapping[str, Any]) -> Accepts:
    condition = c.schema(base, value)
    then = c.schema(base, schema.get("then", True))
    otherwise = c.schema(base, schema.get("else", True))
    return lambda instance: then(instance) if condition(instance) else otherwise(instance)


_KEYWORDS: dict[str, Keyword] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "required": _required,
    "propertyNames": _property_names,
    "minProperties": _size(dict, lambda n, limit: n >= limit),
    "maxProperties": _size(dict, lambda n, limit: n <= limit),
    "items": _items,
    "minItems": _size(list, lambda n, limit: n >= limit),
    "maxItems": _size(list, lambda n, limit: n <= limit),
    "uniqueItems": _unique_items,
    "minLength": _size(str, lambda n, limit: n >= limit),
    "maxLength": _size(str, lambda n, limit: n <= limit),
    "minimum": _bound(lambda v, b: v >= b),
    "maximum": _bound(lambda v, b: v <= b),
    "exclusiveMinimum": _bound(lambda v, b: v > b),
    "exclusiveMaximum": _bound(lambda v, b: v < b),
    "pattern": _pattern,
    "format": _format,
    "$ref": _ref,
    "anyOf": _any_of_keyword,
    "oneOf": _one_of,
    "allOf": _all_of_keyword,
    "not": _not,
    "if": _if,
}
