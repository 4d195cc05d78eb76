"""Shrinking a failing timeline (delta debugging with a fake, deterministic predicate instead of real runs), the
scenario file it writes, and the exact options a results directory hands to `harness replay`."""

import json
import tomllib
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import topology
from core.errors import HarnessError
from harness import replay, run_options, scenario, shrink, sweep
from harness.runner import RunOptions
from workloads.options import ClientOptions

KILL, CUT = "kill-p0-leader", "partition-leader"


def needs(*culprits, min_hold=0.0):
    """Fails iff every culprit (at, nemesis) is in the timeline, each held at least min_hold."""
    def fails(timeline):
        held = {(at, nemesis): hold for at, nemesis, hold in timeline}
        return all(held.get(c, -1) >= min_hold for c in culprits)
    return fails


def test_a_fault_that_does_not_matter_is_removed_and_the_one_that_does_is_shortened_while_it_still_fails():
    timeline = ((10.0, KILL, 16.0), (35.0, KILL, 16.0))
    found = shrink.shrink(timeline, needs((35.0, KILL), min_hold=4), max_runs=20)
    assert found.reproduced and not found.out_of_runs
    assert found.timeline == ((35.0, KILL, 4.0),)  # 16 -> 8 -> 4; 2 would no longer fail
    assert [p.name for p in found.phases] == ["replay", "remove", "shorten"]
    assert sum(p.runs for p in found.phases) == found.runs == len(found.attempts)


def test_two_faults_that_only_fail_together_are_both_kept():
    timeline = tuple((float(at), CUT if at % 20 else KILL, 5.0) for at in range(0, 80, 10))
    found = shrink.shrink(timeline, needs((20.0, KILL), (50.0, CUT)), max_runs=100, min_hold=5.0)
    assert found.timeline == ((20.0, KILL, 5.0), (50.0, CUT, 5.0))


def test_a_replay_that_does_not_fail_again_shrinks_nothing():
    found = shrink.shrink(((10.0, KILL, 15.0),), lambda t: False, max_runs=10)
    assert not found.reproduced and found.runs == 1 and found.timeline == found.original


def test_the_budget_stops_the_search_with_the_smallest_timeline_seen_failing():
    timeline = tuple((float(at), KILL, 8.0) for at in range(0, 60, 10))
    found = shrink.shrink(timeline, needs((30.0, KILL)), max_runs=3)
    assert found.out_of_runs and found.runs == 3
    assert found.timeline in [a.timeline for a in found.attempts if a.failed]


def test_no_timeline_is_run_twice():
    timeline = ((10.0, KILL, 15.0), (35.0, KILL, 15.0), (50.0, CUT, 4.0))
    found = shrink.shrink(timeline, needs((10.0, KILL), (50.0, CUT), min_hold=2), max_runs=100)
    timelines = [a.timeline for a in found.attempts]
    assert len(timelines) == len(set(timelines))


def test_a_budget_below_one_run_is_refused():
    with pytest.raises(HarnessError, match="at least 1"):
        shrink.shrink(((1.0, KILL, 1.0),), lambda t: True, max_runs=0)


steps = st.tuples(st.integers(0, 120).map(float), st.sampled_from([KILL, CUT, "kill-dc"]),
                  st.sampled_from([1.0, 2.0, 5.0, 15.0, 30.0]))


@settings(max_examples=150, deadline=None)
@given(timeline=st.lists(steps, min_size=1, max_size=10, unique_by=lambda s: (s[0], s[1])), data=st.data())
def test_the_result_still_fails_keeps_exactly_the_culprits_and_no_hold_can_be_halved(timeline, data):
    culprits = data.draw(st.lists(st.sampled_from([(a, n) for a, n, _ in timeline]), min_size=1, unique=True))
    min_hold = data.draw(st.sampled_from([0.0, 1.0, 3.0]))
    fails = needs(*culprits, min_hold=min_hold)
    found = shrink.shrink(tuple(timeline), fails, max_runs=10_000)
    if not fails(tuple(sorted(timeline))):
        assert not found.reproduced
        return
    assert fails(found.timeline)
    assert sorted((a, n) for a, n, _ in found.timeline) == sorted(culprits)
    for i, (at, nemesis, hold) in enumerate(found.timeline):
        halved = max(1.0, round(hold / 2, 1))
        shorter = found.timeline[:i] + ((at, nemesis, halved),) + found.timeline[i + 1:]
        assert halved >= hold or not fails(shorter)


def test_the_scenario_it_writes_is_the_source_with_the_shrunk_timeline_and_says_how_many_runs(tmp_path):
    source = scenario.find("acks1-leader-failover")
    found = shrink.shrink(tuple((s.at, s.nemesis, s.hold) for s in source.timeline),
                          needs((35.0, KILL), min_hold=3), max_runs=20)
    text = shrink.scenario_toml(Path(source.source).read_text(), "acks1-leader-failover-shrunk", found, "lost-write",
                                Path("results/x"), 7)
    path = tmp_path / "shrunk.toml"
    path.write_text(text)
    loaded = scenario.load(path)
    assert loaded.name == "acks1-leader-failover-shrunk"
    assert [(s.at, s.nemesis, s.hold) for s in loaded.timeline] == [(35.0, KILL, 3.8)]  # 15, 7.5, 3.8 (tenths)
    assert loaded.expect == source.expect and loaded.unsafe == source.unsafe
    assert f"{found.runs} run(s) in all" in text and "# remove: 2 run(s)" in text
    assert tomllib.loads(text)["name"] == "acks1-leader-failover-shrunk"


# ---- replay: the exact options of a run -----------------------------------------------------------------------

def library_options():
    for s in scenario.library():
        for control in (False, True):
            yield sweep.scenario_run_options(s, control, Path("results"), seed=11)


@pytest.mark.parametrize("options", list(library_options()), ids=lambda o: o.name())
def test_every_scenario_run_reads_back_as_the_same_options(options):
    assert run_options.from_json(orjson.loads(orjson.dumps(run_options.to_json(options)))) == options


def test_a_custom_topology_with_a_wan_and_producer_overrides_reads_back_exactly():
    dcs = [{"name": "a", "brokers": 2}, {"name": "b", "controllers": 0}]
    topo = topology.validate(topology.from_dict({"name": "t", "dc": dcs,
                                                  "wan": [{"between": ["a", "b"], "latency": "12.5ms",
                                                           "jitter": "1ms"}],
                                                  "broker_config": {"num.io.threads": 4}}))
    options = RunOptions(topology=topo, workload=ClientOptions(acks="1", retries=0, replication=2,
                                                               extra_producer_config=(("linger.ms", "5"),)),
                         nemesis="kill", timeline=((1.0, "kill", 2.0),), wan_pairs=((("a", "b"), 3.0),), seed=4)
    assert run_options.from_json(json.loads(json.dumps(run_options.to_json(options)))) == options


def results_dir(tmp_path, test):
    (tmp_path / "test.json").write_text(json.dumps(test))
    return tmp_path


def test_replay_reads_the_options_and_the_seed_the_run_used(tmp_path):
    options = next(library_options())
    directory = results_dir(tmp_path, {"seed": 1234, "run_options": run_options.to_json(options)})
    (directory / "results.json").write_text(json.dumps({"anomalies": {"lost-write": [{"ops": [1]}], "unseen": [{}]}}))
    recorded = replay.read(directory)
    assert recorded.options.seed == 1234 and recorded.options.timeline == options.timeline
    assert recorded.failures == ("lost-write",)


@pytest.mark.parametrize("test, said", [
    ({"seed": 1}, "has no run_options: the run was made by an older harness"),
    ({"seed": 1, "run_options": {"format": 99}}, "run_options format 99"),
    ({"seed": 1, "run_options": {"format": 1, "topology": {}}}, "needs at least one [[dc]] table"),
])
def test_a_results_dir_replay_cannot_read_is_one_line(tmp_path, test, said):
    with pytest.raises(HarnessError) as caught:
        replay.read(results_dir(tmp_path, test))
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_shrink_refuses_a_run_without_a_timeline_and_a_run_that_found_nothing(tmp_path):
    import subprocess
    import sys

    def shrink_of(test, results=None):
        directory = tmp_path / str(len(list(tmp_path.iterdir())))
        directory.mkdir()
        (directory / "test.json").write_text(json.dumps(test))
        if results is not None:
            (directory / "results.json").write_text(json.dumps(results))
        return subprocess.run([sys.executable, "-m", "harness.cli.main", "shrink", str(directory)],
                              capture_output=True, text=True, timeout=120)

    plain = RunOptions(topology=topology.default_topology(), nemesis="kill")
    scenario_run = next(library_options())
    for result, said in [
        (shrink_of({"seed": 1, "run_options": run_options.to_json(plain)}), "is not a scenario run"),
        (shrink_of({"seed": 1, "run_options": run_options.to_json(scenario_run)}, {"anomalies": {}}),
         "found no failing anomaly: nothing to shrink"),
    ]:
        assert result.returncode == 2 and said in result.stderr and len(result.stderr.strip().splitlines()) == 1, \
            result.stderr
