"""Sharded sweeps: `--shard I/N` splits the runs of a sweep deterministically, and `merge` joins the shards into the
matrix an unsharded sweep writes, byte for byte; shards that do not make one whole sweep are refused in one line.
Every sweep here runs a fake cell runner, so no Docker is needed."""

import hashlib
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import topology
from core.errors import HarnessError
from harness import scenario, sweep, sweep_axes, sweep_shards
from harness.sweep import Trial
from harness.sweep_shards import Plan, Shard

SCENARIOS = ["acks1-leader-failover", "zombie-leader", "zombie-leader-zk", "unclean-election"]
MATRIX = ("matrix.md", "matrix.html", "matrix.json")


def scenario_plan(root, names=SCENARIOS, runs=2, versions=("3.9.1", "4.3.1")):
    cases = sweep.scenario_cases([scenario.find(n) for n in names], root)
    expanded = sweep_axes.expand(cases, [sweep_axes.kafka_axis(list(versions))])  # zk on 4.3.1: a "not run" row
    return Plan("scenarios", "Scenario detection matrix", (f"{runs} run(s) per variant.",), tuple(expanded), runs,
                ("kafka",))


def grid_plan(root, runs=2):
    axes = sweep.parse_grid(["acks=1,all", "idempotence=true,false"])  # acks=1 idempotence=true: refused, not run
    cases = sweep.grid_cases(axes, ["kill-dc", "partition-leader"], topology.default_topology(), root, 30, 10)
    return Plan("grid", "Config-safety matrix", ("grid",), tuple(sweep_axes.expand(cases, [sweep_axes.kafka_axis()])),
                runs, ("kafka",))


def fake_runner(calls=None):
    """A deterministic outcome per cell (a hash of it), and a run directory with a file, like a real run."""
    def run(case, run, say):
        if calls is not None:
            calls.append(sweep_shards.cell_id(case, run))
        digest = hashlib.sha256(sweep_shards.cell_id(case, run).encode()).digest()
        results = case.options.results_root / f"run-{run}" / "20261202T000000"
        results.mkdir(parents=True)
        (results / "history.jsonl").write_text(sweep_shards.cell_id(case, run))
        failures = (("lost-write",), (), ("duplicate", "lost-write"), ())[digest[0] % 4]
        valid = False if failures else "error" if digest[1] < 40 else True
        first = digest[3] / 10 if failures else None
        return Trial(case.key, case.variant, run, valid, failures, first, float(digest[4] % 7), str(results),
                     axes=case.axes)
    return run


def quiet(message):
    pass


def matrix_bytes(directory):
    return {name: (directory / name).read_bytes() for name in MATRIX}


def sharded(tmp, make_plan, count, runner=None):
    dirs = []
    for index in range(1, count + 1):
        root = tmp / f"shard-{index}"
        sweep_shards.execute(make_plan(root), root, quiet, Shard(index, count), runner or fake_runner())
        dirs.append(root)
    return dirs


def unsharded_then_merged(tmp, make_plan, count):
    """The unsharded matrix, and the merged matrix of `count` shards written to the same directory."""
    out = tmp / "matrix"
    sweep_shards.execute(make_plan(out), out, quiet, None, fake_runner())
    whole = matrix_bytes(out)
    runs = sorted(p.relative_to(out) for p in out.rglob("history.jsonl"))
    shutil.rmtree(out)
    sweep_shards.merge(sharded(tmp, make_plan, count), out)
    assert sorted(p.relative_to(out) for p in out.rglob("history.jsonl")) == runs, "every run directory is there"
    return whole, matrix_bytes(out)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
@pytest.mark.parametrize("make_plan", [scenario_plan, grid_plan], ids=["scenarios", "grid"])
def test_a_sharded_then_merged_sweep_writes_the_unsharded_matrix(tmp_path, make_plan, count):
    whole, merged = unsharded_then_merged(tmp_path, make_plan, count)
    assert merged == whole


def test_the_merged_matrix_keeps_the_not_run_rows_and_the_changes_along_the_kafka_axis(tmp_path):
    whole, merged = unsharded_then_merged(tmp_path, scenario_plan, 2)
    text = merged["matrix.md"].decode()
    assert "not run: Kafka 4.3.1 has no ZooKeeper mode" in text
    assert b'"run": 2' in merged["matrix.json"]


@settings(max_examples=25, deadline=None)
@given(names=st.lists(st.sampled_from(SCENARIOS), min_size=1, max_size=4, unique=True),
       runs=st.integers(1, 3), count=st.integers(1, 9))
def test_any_split_of_any_sweep_merges_into_the_unsharded_matrix(names, runs, count):
    with tempfile.TemporaryDirectory() as tmp:
        whole, merged = unsharded_then_merged(Path(tmp), lambda root: scenario_plan(root, names, runs), count)
    assert merged == whole


@settings(max_examples=200, deadline=None)
@given(ids=st.lists(st.text(min_size=1, max_size=6), max_size=60, unique=True), count=st.integers(1, 20),
       data=st.data())
def test_every_cell_is_in_exactly_one_shard_whatever_the_order_and_shards_are_balanced(ids, count, data):
    shards = [sweep_shards.select(ids, Shard(i, count)) for i in range(1, count + 1)]
    assert sum(len(s) for s in shards) == len(ids) and set().union(*shards) == set(ids)
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    shuffled = data.draw(st.permutations(ids))
    assert [sweep_shards.select(shuffled, Shard(i, count)) for i in range(1, count + 1)] == shards


def test_a_shard_runs_only_its_cells_and_the_cells_do_not_depend_on_the_order_scenarios_were_given(tmp_path):
    first, second = [], []
    plan = scenario_plan(tmp_path / "a", SCENARIOS)
    sweep_shards.execute(plan, tmp_path / "a", quiet, Shard(1, 3), fake_runner(first))
    reordered = scenario_plan(tmp_path / "b", list(reversed(SCENARIOS)))
    sweep_shards.execute(reordered, tmp_path / "b", quiet, Shard(1, 3), fake_runner(second))
    assert sorted(first) == sorted(second) and 0 < len(first) < len(plan.cells())


@pytest.mark.parametrize("text", ["2/4", " 1 / 1 "])
def test_a_shard_is_i_of_n(text):
    assert str(sweep_shards.parse_shard(text)) == text.replace(" ", "")


@pytest.mark.parametrize("text, said", [("0/2", "between 1 and N"), ("3/2", "between 1 and N"),
                                        ("1/0", "between 1 and N"), ("half", "is not I/N"), ("1/2/3", "is not I/N"),
                                        ("-1/2", "is not I/N")])
def test_a_bad_shard_is_one_line(text, said):
    with pytest.raises(HarnessError, match=said) as caught:
        sweep_shards.parse_shard(text)
    assert "\n" not in str(caught.value)


def refusal(dirs, out):
    with pytest.raises(HarnessError) as caught:
        sweep_shards.merge(dirs, out)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_merge_refuses_a_missing_shard(tmp_path):
    dirs = sharded(tmp_path, scenario_plan, 3)
    assert "shard 2/3 missing (given: 1/3, 3/3)" in refusal([dirs[0], dirs[2]], tmp_path / "out")


def test_merge_refuses_the_same_shard_twice(tmp_path):
    dirs = sharded(tmp_path, scenario_plan, 2)
    copy = tmp_path / "copy"
    shutil.copytree(dirs[0], copy)
    assert "are both shard 1/2" in refusal([dirs[0], dirs[1], copy], tmp_path / "out")


def test_merge_refuses_shards_of_a_different_count(tmp_path):
    two = sharded(tmp_path / "two", scenario_plan, 2)
    three = sharded(tmp_path / "three", scenario_plan, 3)
    assert "is shard 1/2 but" in refusal([two[0], three[1]], tmp_path / "out")


@pytest.mark.parametrize("other, said", [
    (lambda root: scenario_plan(root, runs=3), "their runs differ"),
    (lambda root: scenario_plan(root, versions=("3.9.1", "4.0.0")), "their axes differ"),
    (lambda root: scenario_plan(root, SCENARIOS[:3]), "their cases differ"),
    (grid_plan, "their kind differ"),
])
def test_merge_refuses_shards_of_different_sweeps_and_says_what_differs(tmp_path, other, said):
    mine = sharded(tmp_path / "mine", scenario_plan, 2)
    theirs = sharded(tmp_path / "theirs", other, 2)
    assert said in refusal([mine[0], theirs[1]], tmp_path / "out")


def test_merge_refuses_an_unfinished_shard(tmp_path):
    ran = fake_runner()

    def interrupted(case, run, say):
        if len(list((tmp_path / "shard-1").rglob("history.jsonl"))) == 2:
            raise KeyboardInterrupt
        return ran(case, run, say)

    with pytest.raises(KeyboardInterrupt):
        sharded(tmp_path, scenario_plan, 2, runner=interrupted)
    dirs = [tmp_path / "shard-1", *sharded(tmp_path / "rest", scenario_plan, 2)[1:]]
    assert "(shard 1/2) is unfinished: 2 of its" in refusal(dirs, tmp_path / "out")


def test_merge_refuses_a_directory_that_is_not_a_shard(tmp_path):
    assert "is not a shard of a sweep (no shard.json)" in refusal([tmp_path], tmp_path / "out")
    assert "needs the shards' results directories" in refusal([], tmp_path / "out")


def test_an_unsharded_sweep_writes_no_manifest(tmp_path):
    sweep_shards.execute(scenario_plan(tmp_path), tmp_path, quiet, None, fake_runner())
    assert not (tmp_path / sweep_shards.MANIFEST).exists()
    assert "is not a shard" in refusal([tmp_path], tmp_path / "out")


# ---- the command line ---------------------------------------------------------------------------------------

def harness(*args, cwd=None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "harness.cli.main", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def one_line_error(result, fragment):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: ") and fragment in lines[0], result.stderr


def test_harness_sweep_merge_writes_the_matrix_and_refuses_a_missing_shard_in_one_line(tmp_path):
    dirs = sharded(tmp_path, scenario_plan, 3)
    merged = harness("sweep", "merge", *map(str, dirs), "--out", str(tmp_path / "out"))
    assert merged.returncode == 0, merged.stderr
    assert "| acks1-leader-failover | unsafe | 3.9.1 |" in merged.stderr  # human output goes to stderr
    assert (tmp_path / "out" / "matrix.json").is_file()
    one_line_error(harness("sweep", "merge", str(dirs[0]), str(dirs[2])), "shard 2/3 missing")


@pytest.mark.parametrize("shard, said", [("0/2", "between 1 and N"), ("two", "is not I/N")])
def test_harness_sweep_refuses_a_bad_shard_before_anything_runs(shard, said):
    one_line_error(harness("sweep", "--scenarios", "acks1-leader-failover", "--shard", shard), said)


def test_the_nightly_recipe_has_a_job_matrix_of_every_shard_and_a_merge_job_after_it():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((Path(__file__).parents[2] / "examples/ci/nightly.yml").read_text())
    shards = int(workflow["env"]["SWEEP_SHARDS"])
    sweep_job, merge_job = workflow["jobs"]["sweep"], workflow["jobs"]["sweep-merge"]
    assert sweep_job["strategy"]["matrix"]["shard"] == list(range(1, shards + 1))
    assert merge_job["needs"] == "sweep" and merge_job["if"] == "always()"
    shard_step = next(s["run"] for s in sweep_job["steps"] if "--shard" in s.get("run", ""))
    assert '--shard "${{ matrix.shard }}/$SWEEP_SHARDS"' in shard_step
    assert any("harness sweep merge shards/sweep-shard-*" in s.get("run", "") for s in merge_job["steps"])
