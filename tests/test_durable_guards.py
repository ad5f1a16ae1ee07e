"""One test per durable_rules trap we guard against: the trap is shown (in a subprocess, where it
could crash or hang), and our engine is shown to avoid it in a way that fails if the guard goes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import durable_rules_engine
import pytest
from engine_kit import FACTS, act, case, fact, guidelines, keys, rule

from engine import compiler, runtime
from engine.errors import EngineError, InputError
from engine.evaluate import Evaluator

TESTS = str(Path(__file__).parent)
QUIET_HOST = """
from durable.engine import Host
class Q(Host):
    def _run(self): pass
h = Q()
fired = []
def act(c): fired.append(1)
"""


def run_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str] | None:
    """Run code in a fresh interpreter; None if it hung past the timeout."""
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              timeout=timeout, cwd=TESTS)
    except subprocess.TimeoutExpired:
        return None


def engine_script(body: str) -> str:
    return f"import sys\nsys.path.insert(0, {TESTS!r})\nfrom engine_kit import *\n" \
           f"from engine.evaluate import Evaluator\n{textwrap.dedent(body)}"


# ------------------------------------------------------------ #288: a pattern without discriminator


@pytest.mark.slow
def test_trap_a_pattern_of_only_nex_matches_the_state_fact_and_never_returns() -> None:
    code = QUIET_HOST + """
h.set_rulesets({'rs': {'r': {'all': [{'m': {'$nex': {'x': 1}}}], 'run': act}}})
h.assert_fact('rs', {'sid': '1', 'y': 1.0})
print('returned')
"""
    assert run_python(code, timeout=8) is None


def test_guard_every_compiled_pattern_starts_with_the_discriminator() -> None:
    g = guidelines(rule("AZA-U-001", fact("tpmt_status", unknown=True), act("order_test", "tpmt-test")),
                   rule("AZA-U-002", {"not": fact("wbc", known=True)}, act("order_test", "full-blood-count")))
    for layer in compiler.compile_guidelines(g).strata:
        for ruleset in layer:
            for name, body in json.loads(ruleset.definition).items():
                pattern = body["all"][0]["m"]
                first = pattern if name == compiler.WARM_UP else pattern["$and"][0]
                assert first == ({"t": "warm-up"} if name == compiler.WARM_UP else {"t": "patient"}), name


def test_guard_an_unknown_test_evaluates_and_returns() -> None:
    code = engine_script("""
        g = guidelines(rule("AZA-U-001", fact("tpmt_status", unknown=True), act("order_test", "tpmt-test")))
        result = Evaluator(g).evaluate(case(wbc=3.0))
        print(sorted(r.rule for r in result.recommendations))
    """)
    done = run_python(code, timeout=60)
    assert done is not None, "evaluating `unknown: true` hung: the discriminator is missing"
    assert done.stdout.strip() == "['AZA-U-001']", done.stderr


# ------------------------------------------------------------ segfault: first session triggers nothing


def test_trap_delete_state_crashes_when_the_first_session_triggered_nothing() -> None:
    code = QUIET_HOST + """
h.set_rulesets({'rs': {'r': {'all': [{'m': {'$and': [{'t': 'patient'}, {'$lt': {'x': 1.0}}]}}], 'run': act}}})
try:
    h.assert_fact('rs', {'sid': '1', 't': 'patient', 'x': 5.0})
except Exception:
    pass
h.delete_state('rs', '1')
print('survived')
"""
    done = run_python(code)
    assert done is not None and done.returncode != 0 and "survived" not in done.stdout


def test_guard_a_patient_who_matches_nothing_on_a_fresh_ruleset_is_fine() -> None:
    code = engine_script("""
        g = guidelines(rule("AZA-S-001", fact("wbc", below=1), act("stop")))
        evaluator = Evaluator(g)                       # registering ran the warm-up session
        for wbc in (5.0, 6.0, 0.5, 7.0):               # then patients matching nothing, and one rule
            print(len(evaluator.evaluate(case(wbc=wbc)).recommendations))
        g2 = guidelines(rule("AZA-S-002", fact("platelets", below=1), act("stop")))
        print(len(Evaluator(g2).evaluate(case()).recommendations))  # undecided: nothing matches
    """)
    done = run_python(code)
    assert done is not None and done.returncode == 0, done and done.stderr
    assert done.stdout.split() == ["0", "0", "1", "0", "0"]


def test_guard_a_session_durable_handled_without_running_an_action_is_an_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # If durable ever returned normally without running our actions, the rules it matched would be
    # lost silently: the runtime refuses the result instead.
    evaluator = Evaluator(guidelines(rule("AZA-S-003", fact("wbc", below=1), act("stop"))))
    monkeypatch.setattr(durable_rules_engine, "start_action_for_state", lambda handle, state: None)
    with pytest.raises(EngineError, match="no action ran; the engine did not see the patient"):
        evaluator.evaluate(case(wbc=0.5))


# ------------------------------------------------------------ #312: more than 64 sibling conditions


def test_trap_a_fact_satisfying_65_alternatives_raises_error_303() -> None:
    code = QUIET_HOST + """
alts = [{'$gte': {'x%d' % j: 0.0}} for j in range(65)]
h.set_rulesets({'rs': {'r': {'all': [{'m': {'$and': [{'t': 'p'}, {'$or': alts}]}}], 'run': act}}})
try:
    h.assert_fact('rs', {'sid': '1', 't': 'p', **{'x%d' % j: 1.0 for j in range(65)}})
except Exception as e:
    print(e)
"""
    done = run_python(code)
    assert done is not None and "error code: 303" in done.stdout


def synthetic_rules(count: int) -> list[dict[str, object]]:
    """Distinct conditions that one patient (wbc 499, platelets 2999, ...) satisfies all at once."""
    rules = []
    for i in range(count):
        when = {"all": [fact("wbc", at_least=i / 10),
                        {"any": [fact("platelets", above=i), fact("tpmt_status", one_of=["normal", "absent"])]}]}
        rules.append(rule(f"AZA-SYN-{i:03d}", when, act("monitor", "full-blood-count")))
    return rules


ALL_TRUE = {"wbc": 499.0, "platelets": 2999.0, "tpmt_status": "normal"}


def test_guard_a_patient_satisfying_every_condition_of_500_rules_evaluates() -> None:
    evaluator = Evaluator(guidelines(*synthetic_rules(500)))
    for layer in evaluator.program.strata:
        assert all(rs.alternatives <= compiler.ALTERNATIVE_CAP for rs in layer)
    result = evaluator.evaluate(case(**ALL_TRUE))
    assert len(result.recommendations) == 500
    # and the other way round: every rule is definitely false at once
    assert set(evaluator.rule_outcomes(case(wbc=0.0, platelets=0.0, tpmt_status="intermediate")).values()) == {False}


def test_guard_without_partitioning_the_same_patient_fails() -> None:
    # One ruleset of 70 rules: 70 conditions on wbc hang under the discriminator, all satisfied.
    code = engine_script("""
        from engine import compiler
        from test_durable_guards import synthetic_rules, ALL_TRUE
        compiler.ALTERNATIVE_CAP = 10_000
        evaluator = Evaluator(guidelines(*synthetic_rules(70)))
        try:
            evaluator.evaluate(case(**ALL_TRUE))
        except Exception as e:
            print(e)
    """)
    done = run_python(code)
    assert done is not None and "error code: 303" in done.stdout, done and done.stderr


def test_guard_a_single_rule_too_complex_for_one_ruleset_is_refused_with_its_location() -> None:
    wide = {"all": [{"any": [fact("wbc", below=i), fact("platelets", below=i)]} for i in range(1, 7)]}
    with pytest.raises(InputError) as caught:
        Evaluator(guidelines(rule("AZA-BIG-001", wide, act("stop"))))
    (problem,) = caught.value.problems
    assert problem.code == "E-RULE-TOO-COMPLEX"
    assert problem.location.path == "guidelines/rules/general/AZA-BIG-001.yaml"
    # (1 + 1)^6 = 64 alternatives; one ruleset holds at most 59 besides the warm-up rule
    assert "64 alternatives" in problem.message and "at most 59" in problem.message
    assert "split the rule" in problem.message


def test_or_alternatives_that_all_hold_give_one_recommendation() -> None:
    # durable fires once per satisfied `$or` alternative; the collector counts a rule once.
    g = guidelines(rule("AZA-OR-001", {"any": [fact("wbc", below=3), fact("wbc", below=4), fact("wbc", below=5)]},
                        act("hold")))
    assert [r.rule for r in Evaluator(g).evaluate(case(wbc=1.0)).recommendations] == ["AZA-OR-001"]


# ------------------------------------------------------------ 255 properties per fact (error 302)


def test_trap_a_fact_with_too_many_properties_raises_error_302() -> None:
    code = QUIET_HOST + """
h.set_rulesets({'rs': {'r': {'all': [{'m': {'$and': [{'t': 'p'}, {'$gte': {'y': 0.0}}]}}], 'run': act}}})
try:
    h.assert_fact('rs', {'sid': '1', 't': 'p', 'y': 1.0, **{'z%d' % j: 1.0 for j in range(260)}})
except Exception as e:
    print(e)
"""
    done = run_python(code)
    assert done is not None and "error code: 302" in done.stdout


def test_guard_each_ruleset_is_given_only_the_properties_it_reads() -> None:
    facts = {**FACTS, **{f"lab_{i}": {"label": f"lab {i}", "type": "number", "description": "d"} for i in range(300)}}
    rules = [rule(f"AZA-LAB-{i:03d}", fact(f"lab_{i}", above=0), act("monitor", "full-blood-count"))
             for i in range(300)]
    evaluator = Evaluator(guidelines(*rules, facts=facts))
    assert all(len(rs.properties) <= compiler.PROPERTY_CAP for layer in evaluator.program.strata for rs in layer)
    result = evaluator.evaluate(case(**{f"lab_{i}": 1.0 for i in range(300)}))
    assert len(result.recommendations) == 300


# ------------------------------------------------------------ references to absent properties


def test_trap_a_reference_to_an_absent_property_matches_anything() -> None:
    code = QUIET_HOST + """
pattern = {'$and': [{'t': 'p'}, {'$gt': {'alt': {'$mul': {'$l': {'$m': 'alt_uln'}, '$r': 3}}}}]}
h.set_rulesets({'rs': {'r': {'all': [{'m': pattern}], 'run': act},
                       's': {'all': [{'m': {'t': 'p'}}], 'run': lambda c: None}}})
h.assert_fact('rs', {'sid': '1', 't': 'p', 'alt': -5.0})
print(len(fired))
"""
    done = run_python(code)
    assert done is not None and done.stdout.strip() == "1"  # -5 > 3 × (nothing): "true"


def test_guard_relative_thresholds_compile_to_a_sign_property_not_a_reference() -> None:
    g = guidelines(rule("AZA-LFT-001", fact("alt", above={"times": 3, "of": "alt_baseline"}), act("stop")))
    program = compiler.compile_guidelines(g)
    (ruleset,) = program.strata[0]
    assert "$m" not in ruleset.definition and "alt__vs__3x__alt_baseline" in ruleset.definition
    assert Evaluator(g).rule_outcomes(case(alt=-0.0 + 5.0)) == {"AZA-LFT-001": None}
    assert Evaluator(g).rule_outcomes(case(alt=5.0, alt_baseline=0.0)) == {"AZA-LFT-001": True}


# ------------------------------------------------------------ $iall never matches an empty list


def test_trap_iall_does_not_match_an_empty_list() -> None:
    code = QUIET_HOST + """
pattern = {'$and': [{'t': 'p'}, {'$iall': {'meds': {'$neq': {'$i': 'x'}}}}]}
h.set_rulesets({'rs': {'r': {'all': [{'m': pattern}], 'run': act},
                       's': {'all': [{'m': {'t': 'p'}}], 'run': lambda c: None}}})
h.assert_fact('rs', {'sid': '1', 't': 'p', 'meds': []})
print(len(fired))
"""
    done = run_python(code)
    assert done is not None and done.stdout.strip() == "0"  # "no item is x" should hold for []


def test_guard_does_not_contain_holds_for_an_empty_list() -> None:
    g = guidelines(rule("AZA-XO-001", {"not": fact("medications", contains="allopurinol")}, act("start")))
    assert keys(Evaluator(g).evaluate(case(medications=[]))) == {("start", "azathioprine", "AZA-XO-001")}


# ------------------------------------------------------------ typed values only


def test_trap_numeric_strings_compare_as_text() -> None:
    code = QUIET_HOST + """
h.set_rulesets({'rs': {'r': {'all': [{'m': {'$and': [{'t': 'p'}, {'$gte': {'x': 100}}]}}], 'run': act},
                       's': {'all': [{'m': {'t': 'p'}}], 'run': lambda c: None}}})
h.assert_fact('rs', {'sid': '1', 't': 'p', 'x': '99'})
print(len(fired))
"""
    done = run_python(code)
    assert done is not None and done.stdout.strip() == "1"


@pytest.mark.parametrize("value", [3, float("nan"), float("inf"), ["a"], None])
def test_guard_the_runtime_refuses_untyped_values(value: object) -> None:
    with pytest.raises(EngineError):
        runtime.checked_properties({"wbc": value})


def test_guard_thresholds_are_compiled_as_floats() -> None:
    g = guidelines(rule("AZA-T-001", {"all": [fact("wbc", below=3), fact("platelets", between=[50, 100])]},
                        act("hold")))
    (ruleset,) = compiler.compile_guidelines(g).strata[0]
    assert '{"$lt":{"wbc":3.0}}' in ruleset.definition
    assert '{"$gte":{"platelets":50.0}}' in ruleset.definition


# ------------------------------------------------------------ actions: read in C, never run in Python


def test_guard_sessions_never_enter_durables_python_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    # durable's Python layer swallows exceptions of actions into the state (#305) and reads a
    # clock that warns on Python 3.12; the runtime reads the queued actions itself instead.
    import durable.engine

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("durable's Python dispatch was used")

    evaluator = Evaluator(guidelines(rule("AZA-E-001", fact("wbc", below=3), act("hold")),
                                     rule("AZA-E-002", {"any": [fact("wbc", below=2), fact("platelets", below=50)]},
                                          act("stop"))))
    for name in ("Closure", "_unix_now"):
        monkeypatch.setattr(durable.engine, name, refuse)
    monkeypatch.setattr(durable.engine.Ruleset, "do_actions", refuse)
    assert keys(evaluator.evaluate(case(wbc=1.0, platelets=20.0))) == {
        ("hold", "azathioprine", "AZA-E-001"), ("stop", "azathioprine", "AZA-E-002")}
    assert keys(evaluator.evaluate(case(wbc=9.0, platelets=200.0))) == set()


def test_guard_a_failure_while_reading_actions_abandons_and_deletes_the_session(
        monkeypatch: pytest.MonkeyPatch) -> None:
    evaluator = Evaluator(guidelines(rule("AZA-E-003", fact("wbc", below=3), act("hold"))))
    deleted: list[str] = []
    real_delete = durable_rules_engine.delete_state

    def counted(handle: int, sid: str) -> None:
        deleted.append(sid)
        real_delete(handle, sid)

    def failing(message: str) -> str:
        raise RuntimeError("deliberate failure reading an action")

    monkeypatch.setattr(durable_rules_engine, "delete_state", counted)
    with monkeypatch.context() as patched:
        patched.setattr(runtime, "rule_of", failing)
        with pytest.raises(EngineError, match="deliberate failure reading an action"):
            evaluator.evaluate(case(wbc=1.0))
    assert len(deleted) == 1
    assert keys(evaluator.evaluate(case(wbc=1.0))) == {("hold", "azathioprine", "AZA-E-003")}  # starts clean


# ------------------------------------------------------------ sessions: one per ruleset, emptied after each patient


def _recording_asserts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Every (ruleset handle, session id) a patient fact is asserted into from now on."""
    seen: list[tuple[int, str]] = []
    real_assert = durable_rules_engine.assert_fact

    def recorded(handle: int, text: str) -> object:
        seen.append((handle, json.loads(text)["sid"]))
        return real_assert(handle, text)

    monkeypatch.setattr(durable_rules_engine, "assert_fact", recorded)
    return seen


def test_guard_each_patient_is_taken_out_of_the_session_it_shares_with_the_next() -> None:
    evaluator = Evaluator(guidelines(rule("AZA-K-001", fact("wbc", below=3), act("hold")),
                                     rule("AZA-K-002", fact("platelets", below=50), act("stop"))))
    with pytest.MonkeyPatch.context() as patched:
        seen = _recording_asserts(patched)
        for wbc, platelets in ((1.0, 20.0), (9.0, 200.0), (1.0, 200.0), (1.0, 20.0)):
            evaluator.evaluate(case(wbc=wbc, platelets=platelets))
            for handle, sid in set(seen):
                assert json.loads(durable_rules_engine.get_facts(handle, sid)) == [], "a patient was left behind"
    assert len(set(seen)) == 1 and len(seen) == 4  # one ruleset, one session, reused for all four patients


def test_guard_the_same_patient_twice_in_one_session_fires_the_same_rules() -> None:
    # Without the retract, durable refuses an identical fact (MessageObservedException) or keeps
    # the first one's matches; either would change the second patient's answer.
    evaluator = Evaluator(guidelines(rule("AZA-K-003", fact("wbc", below=3), act("hold"))))
    first, again = (evaluator.evaluate(case(wbc=1.0)) for _ in range(2))
    assert keys(first) == keys(again) == {("hold", "azathioprine", "AZA-K-003")}


def test_guard_a_session_whose_retract_failed_is_deleted_and_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    evaluator = Evaluator(guidelines(rule("AZA-K-004", fact("wbc", below=3), act("hold"))))
    seen = _recording_asserts(monkeypatch)
    deleted: list[str] = []
    real_delete = durable_rules_engine.delete_state

    def counted(handle: int, sid: str) -> None:
        deleted.append(sid)
        real_delete(handle, sid)

    def failing(handle: int, text: str) -> object:
        raise RuntimeError("deliberate failure retracting")

    monkeypatch.setattr(durable_rules_engine, "delete_state", counted)
    with monkeypatch.context() as patched:
        patched.setattr(durable_rules_engine, "retract_fact", failing)
        assert keys(evaluator.evaluate(case(wbc=1.0))) == {("hold", "azathioprine", "AZA-K-004")}
    assert deleted == [seen[0][1]]
    assert keys(evaluator.evaluate(case(wbc=9.0))) == set()
    assert seen[1][1] != seen[0][1]  # the next patient got a new session


def test_guard_durable_firing_a_rule_whose_conditions_do_not_hold_stops_the_case(
        monkeypatch: pytest.MonkeyPatch) -> None:
    evaluator = Evaluator(guidelines(rule("AZA-K-005", fact("wbc", below=3), act("hold"))))
    monkeypatch.setattr(runtime.Runtime, "_matched", lambda *args: frozenset({"AZA-K-005"}))
    with pytest.raises(EngineError, match="durable_rules fired AZA-K-005 although its conditions do not hold"):
        evaluator.evaluate(case(wbc=9.0))


# ------------------------------------------------------------ hosts, threads, registration


def test_trap_every_durable_host_starts_threads_that_never_stop() -> None:
    code = """
import threading
from durable.engine import Host
before = threading.active_count()
hosts = [Host() for _ in range(5)]
print(threading.active_count() - before)
"""
    done = run_python(code)
    # Two dispatch threads a host; a busy machine may also catch one of their timers mid-restart.
    assert done is not None and int(done.stdout.strip()) >= 10


def test_guard_one_runtime_per_process_and_no_background_threads() -> None:
    g = guidelines(rule("AZA-H-001", fact("wbc", below=3), act("hold")))
    Evaluator(g).evaluate(case(wbc=1.0))
    before = threading.active_count()
    for _ in range(5):
        Evaluator(g).evaluate(case(wbc=1.0))  # same content: registered once, reused
    assert threading.active_count() == before
    assert runtime.shared_runtime() is runtime.shared_runtime()


def test_trap_a_ruleset_name_cannot_be_registered_twice() -> None:
    code = QUIET_HOST + """
rs = {'r': {'all': [{'m': {'t': 'p'}}], 'run': act}}
h.set_rulesets({'rs': dict(rs)})
print('run' in rs['r'])  # set_rulesets removed the action from the caller's dict
try:
    h.set_rulesets({'rs': {'r': {'all': [{'m': {'t': 'p'}}], 'run': act}}})
except Exception as e:
    print(e)
"""
    done = run_python(code)
    assert done is not None and done.stdout.split("\n")[:2] == ["False", "Ruleset with name rs already registered"]


def test_guard_registering_the_same_rules_again_reuses_them_and_keeps_the_definition() -> None:
    g = guidelines(rule("AZA-R-001", fact("wbc", below=3), act("hold")))
    first, second = Evaluator(g), Evaluator(g)
    (ruleset,) = first.program.strata[0]
    runtime.shared_runtime().register(ruleset)
    assert '"run"' not in ruleset.definition and json.loads(ruleset.definition)
    assert first.evaluate(case(wbc=1.0)) == second.evaluate(case(wbc=1.0))


def test_guard_fact_names_the_engine_uses_itself_are_refused() -> None:
    facts = {**FACTS, "t": {"label": "t", "type": "category", "description": "d", "values": {"patient": "p"}}}
    with pytest.raises(InputError) as caught:
        Evaluator(guidelines(rule("AZA-T-001", fact("t", equals="patient"), act("hold")), facts=facts))
    assert [p.code for p in caught.value.problems] == ["E-RESERVED-FACT"]
    with pytest.raises(EngineError, match="reserved"):
        runtime.checked_properties({"sid": "x"})
