"""The only module that imports durable_rules: one host, one session per run, every guard.

Guards (each pinned by a test in tests/test_durable_guards.py):
- one host per process, and a host without durable's timer threads (we never use timers; the
  threads never stop and could run our actions from another thread between two calls);
- a ruleset is registered once per content hash, from a fresh dict (set_rulesets mutates it);
- only typed values are asserted: finite floats, booleans, strings (never ints or numeric text);
- one session id per run, always deleted, one live session at a time (a lock);
- every ruleset's first session is a warm-up that triggers its warm-up rule (a fresh ruleset whose
  first session triggered nothing crashes in delete_state); after that, a patient who matches no
  rule is durable's MessageNotHandledException, read as "nothing fired", and a patient session
  that returns normally must have run an action (else the engine did not see the patient);
- an exception inside an action is swallowed by durable into the state: we raise it;
- durable's DeprecationWarning on Python 3.12 (utcfromtimestamp) is silenced here, narrowly.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from durable.engine import Host, MessageNotHandledException

from engine.compiler import DISCRIMINATOR, RESERVED, WARM_UP, WARM_UP_FACT, CompiledRuleset
from engine.errors import EngineError

Fired = frozenset[str]  # the ids of the rules whose pattern matched


class _QuietHost(Host):  # type: ignore[misc]
    """durable's Host without its two background dispatch threads: every action runs in the caller."""

    def _run(self) -> None:
        return None


@contextmanager
def _quiet_deprecations() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*utcfromtimestamp.*", category=DeprecationWarning)
        yield


class _Collector:
    """What fired in one session: the ids of the rules whose pattern matched."""

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.fired: set[str] = set()
        self.actions = 0
        self.strays: list[str] = []

    def record(self, key: str, c: Any) -> None:
        self.actions += 1
        if str(c.s["sid"]) != self.sid:
            self.strays.append(str(c.s["sid"]))
        else:
            self.fired.add(key)


class Runtime:
    """Runs compiled rulesets on one patient fact at a time. Use `shared_runtime()`."""

    def __init__(self) -> None:
        self._host = _QuietHost()
        self._registered: set[str] = set()
        self._lock = threading.RLock()
        self._sids = itertools.count(1)
        self._collector: _Collector | None = None

    def register(self, ruleset: CompiledRuleset) -> None:
        with self._lock:
            if ruleset.name in self._registered:
                return  # same content hash: reuse; a name can never be registered twice
            definition = json.loads(ruleset.definition)  # a fresh dict: set_rulesets mutates it
            for key, rule in definition.items():
                rule["run"] = self._action(key)
            self._host.set_rulesets({ruleset.name: definition})
            self._registered.add(ruleset.name)
            fired = self._session(ruleset, dict(WARM_UP_FACT))
            if fired != {WARM_UP}:
                raise EngineError(f"the warm-up session of {ruleset.name} fired {sorted(fired)}, not {WARM_UP}")

    def _action(self, key: str) -> Callable[[Any], None]:
        def run(c: Any) -> None:
            if self._collector is None:
                raise EngineError("an action ran outside a session")
            self._collector.record(key, c)
        return run

    def run(self, ruleset: CompiledRuleset, properties: Mapping[str, Any]) -> Fired:
        """Assert one patient fact into a fresh session; return what fired; always delete the session."""
        fact = {**checked_properties(properties), **DISCRIMINATOR}
        with self._lock:
            self.register(ruleset)
            return self._session(ruleset, fact)

    def _session(self, ruleset: CompiledRuleset, fact: dict[str, Any]) -> Fired:
        sid = str(next(self._sids))
        self._collector = collector = _Collector(sid)
        try:
            state = self._assert(ruleset, {**fact, "sid": sid})
        except BaseException:
            # No delete_state after a failed assert: on a session whose assert failed (error
            # 303, for one) durable aborts the whole process. One leaked session is the lesser harm.
            self._collector = None
            raise
        self._collector = None
        self._delete(ruleset.name, sid)
        _check(collector, state, ruleset.name)
        return frozenset(collector.fired)

    def _assert(self, ruleset: CompiledRuleset, fact: dict[str, Any]) -> Any:
        try:
            with _quiet_deprecations():
                return self._host.assert_fact(ruleset.name, fact)
        except MessageNotHandledException:
            return NOTHING_MATCHED
        except Exception as exc:  # durable raises bare Exception and C errors: translate them
            raise EngineError(f"durable_rules could not evaluate ruleset {ruleset.name}: {exc!r}") from exc

    def _delete(self, name: str, sid: str) -> None:
        try:
            self._host.delete_state(name, sid)
        except Exception as exc:
            raise EngineError(f"durable_rules could not delete session {sid} of {name}: {exc!r}") from exc


def checked_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Refuse anything durable would compare wrongly: ints (bool-like), NaN/inf, non-scalars."""
    for name, value in properties.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise EngineError(f"property {name} is {value}; only finite numbers may reach the engine")
        if not isinstance(value, (bool, float, str)):
            raise EngineError(f"property {name} has type {type(value).__name__}; only float, bool, str allowed")
        if name in RESERVED:
            raise EngineError(f"property name {name} is reserved by the engine")
    return dict(properties)


#: What `_assert` returns when durable says the fact matched no rule (MessageNotHandledException).
NOTHING_MATCHED = object()


def _check(collector: _Collector, state: Any, name: str) -> None:
    if isinstance(state, dict) and "exception" in state:
        raise EngineError(f"an action failed inside durable_rules ({name}): {str(state['exception'])[:300]}")
    if collector.strays:
        raise EngineError(f"actions of other sessions ran during session {collector.sid}: {collector.strays}")
    if state is NOTHING_MATCHED and collector.actions:
        raise EngineError(f"durable_rules said the patient matched no rule of {name}, yet actions ran")
    if state is not NOTHING_MATCHED and not collector.actions:
        raise EngineError(f"durable_rules handled the patient in {name} but no action ran; "
                          "the engine did not see the patient")


_SHARED: list[Runtime] = []
_SHARED_LOCK = threading.Lock()


def shared_runtime() -> Runtime:
    """The one Runtime (and durable Host) of this process, created on first use."""
    with _SHARED_LOCK:
        if not _SHARED:
            _SHARED.append(Runtime())
        return _SHARED[0]
