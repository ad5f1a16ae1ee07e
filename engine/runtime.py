"""The only module that imports durable_rules: one host, one session per run, every guard.

Sessions go straight to durable's C engine (the `durable_rules_engine` extension): assert the
patient fact, then read which rules matched from the actions it queues, acknowledging each. Its
Python layer (durable.engine) would do the same through a closure, two JSON round trips of the
session state and a clock reading for every action: two thirds of a session's time, measured in
bench/RESULTS.md. durable.engine is used only to register rulesets (its Host builds them).

Guards (each pinned by a test in tests/test_durable_guards.py):
- one host per process, and a host without durable's timer threads (we never use timers; the
  threads never stop and could run actions from another thread between two calls);
- a ruleset is registered once per content hash, from a fresh dict (set_rulesets mutates it);
  the Python actions it requires are never run (a session never enters durable's Python layer)
  and raise if they ever are;
- only typed values are asserted: finite floats, booleans, strings (never ints or numeric text);
- one live session at a time (a lock), one per ruleset, reused patient after patient: each patient
  fact is retracted once its actions are read, so the next patient meets an empty session.
  Creating a session zeroes about 8 KB for every rule of the ruleset (a quarter of a case's
  instructions, bench/RESULTS.md); a retract costs a hash lookup. Patterns join no facts and
  negate none (engine.compiler), so retracting a fact can queue no action. A session is kept
  only when every step on it succeeded and durable confirms the retract; otherwise it is
  deleted (or, after a failed assert, left) and the next patient gets a new session id;
- every ruleset's first session is a warm-up that triggers its warm-up rule (a fresh ruleset whose
  first session triggered nothing crashes in delete_state); after that, a patient who matches no
  rule is durable's "not handled" answer, read as "nothing fired", and a handled patient must have
  queued an action for its own session (else the engine did not see the patient);
- a failure while actions are being read abandons the action and deletes the session, so the
  next patient starts clean.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

import durable_rules_engine
from durable.engine import Host

from engine.compiler import DISCRIMINATOR, RESERVED, WARM_UP, WARM_UP_FACT, CompiledRuleset
from engine.errors import EngineError

Fired = frozenset[str]  # the ids of the rules whose pattern matched

#: durable's first answer to an asserted fact: 0 handled (actions queued), 1 no rule matched it.
HANDLED, NOT_HANDLED = 0, 1


class _QuietHost(Host):  # type: ignore[misc]
    """durable's Host without its two background dispatch threads: nothing runs behind our back."""

    def _run(self) -> None:
        return None


class Runtime:
    """Runs compiled rulesets on one patient fact at a time. Use `shared_runtime()`."""

    def __init__(self) -> None:
        self._host = _QuietHost()
        self._handles: dict[str, int] = {}  # ruleset name -> durable's handle, once registered
        self._lock = threading.RLock()
        self._sids = itertools.count(1)
        self._kept: dict[str, str] = {}  # ruleset name -> the id of its empty session, kept for the next patient

    def register(self, ruleset: CompiledRuleset) -> None:
        with self._lock:
            if ruleset.name in self._handles:
                return  # same content hash: reuse; a name can never be registered twice
            definition = json.loads(ruleset.definition)  # a fresh dict: set_rulesets mutates it
            for rule in definition.values():
                rule["run"] = _never_run
            self._host.set_rulesets({ruleset.name: definition})
            self._handles[ruleset.name] = self._host.get_ruleset(ruleset.name)._handle
            fired = self._session(ruleset, dict(WARM_UP_FACT))
            if fired != {WARM_UP}:
                raise EngineError(f"the warm-up session of {ruleset.name} fired {sorted(fired)}, not {WARM_UP}")

    def run(self, ruleset: CompiledRuleset, properties: Mapping[str, Any]) -> Fired:
        """Assert one patient fact into the ruleset's empty session; return what fired; leave it empty."""
        fact = {**checked_properties(properties), **DISCRIMINATOR}
        with self._lock:
            self.register(ruleset)
            return self._session(ruleset, fact)

    def _session(self, ruleset: CompiledRuleset, fact: dict[str, Any]) -> Fired:
        handle = self._handles[ruleset.name]
        sid = self._kept.pop(ruleset.name, None) or str(next(self._sids))
        text = _as_json({**fact, "sid": sid})
        # No delete_state after a failed assert: on a session whose assert failed (error 303, for
        # one) durable aborts the whole process. One leaked session is the lesser harm.
        answer, state = self._assert(ruleset, handle, text)
        try:
            fired = self._matched(ruleset, handle, answer, state, sid)
        except BaseException as exc:
            _quietly(durable_rules_engine.abandon_action, handle, state)
            self._delete(ruleset.name, handle, sid)
            if isinstance(exc, EngineError):
                raise
            raise EngineError(f"reading what matched in {ruleset.name} failed: {exc!r}") from exc
        if self._retracted(handle, text):
            self._kept[ruleset.name] = sid
        else:
            self._delete(ruleset.name, handle, sid)
        return fired

    def _assert(self, ruleset: CompiledRuleset, handle: int, text: str) -> tuple[int, int]:
        try:
            answer, state = durable_rules_engine.assert_fact(handle, text)
        except Exception as exc:  # durable raises bare Exception for its C errors: translate them
            raise EngineError(f"durable_rules could not evaluate ruleset {ruleset.name}: {exc!r}") from exc
        return int(answer), state

    def _matched(self, ruleset: CompiledRuleset, handle: int, answer: int, state: int, sid: str) -> Fired:
        """The rules of each action durable queued for this session, each action acknowledged."""
        if answer == NOT_HANDLED:
            return frozenset()
        if answer != HANDLED:
            raise EngineError(f"durable_rules gave the unexpected answer {answer} in {ruleset.name}")
        started = durable_rules_engine.start_action_for_state(handle, state)
        if not started:
            raise EngineError(f"durable_rules handled the patient in {ruleset.name} but no action ran; "
                              "the engine did not see the patient")
        session, message = started
        if not _of_session(session, sid):
            raise EngineError(f"durable_rules queued an action of another session during session {sid}")
        fired: set[str] = set()
        while message:
            fired.add(rule_of(message))
            message = durable_rules_engine.complete_and_start_action(handle, state)
        return frozenset(fired)

    @staticmethod
    def _retracted(handle: int, text: str) -> bool:
        """Whether durable took the patient fact back out of its session (the same text names it)."""
        try:
            answer, _state = durable_rules_engine.retract_fact(handle, text)
        except Exception:  # the session is deleted instead: nothing of this patient is left either way
            return False
        return int(answer) == HANDLED

    def _delete(self, name: str, handle: int, sid: str) -> None:
        try:
            durable_rules_engine.delete_state(handle, sid)
        except Exception as exc:
            raise EngineError(f"durable_rules could not delete session {sid} of {name}: {exc!r}") from exc


def rule_of(message: str) -> str:
    """The rule an action message is for: its only key (`{"RULE-ID":{"m":{...}}}`).

    Read off the front of the text when the key needs no unescaping (rule ids never do): the rest
    of the message is the whole patient fact, which parsing would cost more than the session."""
    end = message.find('"', 2)
    if message.startswith('{"') and message.startswith('":', end) and "\\" not in message[2:end]:
        return message[2:end]
    found = json.loads(message)
    if not isinstance(found, dict) or len(found) != 1:
        raise EngineError(f"durable_rules queued an action message of an unexpected shape: {message[:200]}")
    return str(next(iter(found)))


#: One encoder for every fact (json.dumps with an option builds a new one each call).
_as_json = json.JSONEncoder(ensure_ascii=False).encode


def _of_session(state: str, sid: str) -> bool:
    """Whether durable's session state (`{ "sid":"8", "id":"sid-8", "$s":1}`) is session `sid`.

    Its usual spelling is recognised from the front (a sid is digits, so the closing quote ends it);
    any other spelling is parsed."""
    if state.startswith(f'{{ "sid":"{sid}",'):
        return True
    return str(json.loads(state).get("sid")) == sid


def _never_run(c: Any) -> None:
    raise EngineError("durable_rules ran a Python action; the runtime reads actions itself")


def _quietly(step: Callable[..., Any], *args: Any) -> None:
    try:
        step(*args)
    except Exception:  # already failing: the first error is the one to report
        return


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


_SHARED: list[Runtime] = []
_SHARED_LOCK = threading.Lock()


def shared_runtime() -> Runtime:
    """The one Runtime (and durable Host) of this process, created on first use."""
    with _SHARED_LOCK:
        if not _SHARED:
            _SHARED.append(Runtime())
        return _SHARED[0]
