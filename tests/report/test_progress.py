import io
from pathlib import Path

from rich.console import Console

from harness.progress import Progress, active_faults, client_totals


class FakeRecorder:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def elapsed(self) -> float:
        return 0.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def plain_progress(quiet: bool = False) -> tuple[Progress, io.StringIO, Clock, FakeRecorder]:
    out, clock, recorder = io.StringIO(), Clock(), FakeRecorder()
    progress = Progress(console=Console(file=out, width=200), quiet=quiet, clock=clock, interval=3600)
    progress.attach(recorder)
    return progress, out, clock, recorder


def test_a_non_terminal_gets_one_plain_line_per_phase_with_time_left_and_ops_per_second() -> None:
    progress, out, clock, recorder = plain_progress()
    assert progress.plain
    progress.phase("faults", 60)
    recorder.counts.update({("send", "invoke"): 120, ("send", "ok"): 100, ("send", "info"): 10,
                            ("start-kill", "invoke"): 1})
    clock.now += 10
    progress.phase("heal", timeout=120)
    first, second = out.getvalue().splitlines()
    assert first == "[    0.0s] 4/7 faults, 60 s left | ok 0 (0.0/s) fail 0 (0.0/s) info 0 (0.0/s) | " \
                    "nemesis: no fault active"
    assert second == "[   10.0s] 5/7 heal, at most 120 s left | ok 100 (10.0/s) fail 0 (0.0/s) info 10 (1.0/s) " \
                     "| nemesis: kill"
    assert "\x1b[" not in out.getvalue()  # no colour codes in CI logs


def test_the_nemesis_message_is_logged_and_remembered() -> None:
    progress, out, _, recorder = plain_progress()
    recorder.counts[("start-partition-dc", "invoke")] = 1
    progress.nemesis("nemesis: partition-dc dc3 isolated")
    assert "nemesis: partition-dc dc3 isolated" in out.getvalue()
    assert progress.line().endswith("nemesis: partition-dc (last: partition-dc dc3 isolated)")


def test_quiet_prints_only_warnings() -> None:
    progress, out, _, _ = plain_progress(quiet=True)
    progress.phase("faults", 60)
    progress.say("starting 3 brokers")
    progress.say("[yellow]warning:[/yellow] ISR not full after 120 s")
    progress.summary({}, {"valid": True, "anomalies": {}}, "results/x")
    assert out.getvalue().strip().endswith("warning: ISR not full after 120 s")
    assert len(out.getvalue().splitlines()) == 1


def test_the_summary_tables_ops_anomalies_verdict_and_results_path() -> None:
    progress, out, _, _ = plain_progress()
    counts = {("send", "invoke"): 6, ("send", "ok"): 4, ("send", "fail"): 1, ("send", "info"): 1,
              ("poll", "invoke"): 1, ("poll", "ok"): 1, ("start-kill", "invoke"): 1}
    progress.summary(counts, {"valid": False, "anomalies": {"lost-write": [{}, {}], "duplicate": []}},
                     Path("results/q/1"))
    text = out.getvalue()
    assert "| send |      6 |  4 |    1 |    1 |" in text
    assert "start-kill" not in text
    assert "| lost-write |     2 |" in text and "duplicate" not in text
    assert "INVALID" in text and "results/q/1" in text


def test_the_live_panel_runs_on_a_terminal_and_leaves_only_the_log_lines() -> None:
    out = io.StringIO()
    progress = Progress(console=Console(file=out, force_terminal=True, width=120))
    assert not progress.plain
    with progress:
        progress.phase("faults", 5)
        progress.say("hello from the runner")
    assert "hello from the runner" in out.getvalue()


def test_active_faults_follow_starts_stops_and_heal_all() -> None:
    counts = {("start-kill", "invoke"): 2, ("stop-kill", "info"): 1, ("start-pause", "invoke"): 1,
              ("start-pause", "fail"): 1}
    assert active_faults(counts) == ("kill",)
    assert active_faults({**counts, ("heal-all", "info"): 1}) == ()
    assert client_totals({**counts, ("send", "ok"): 3}) == {"ok": 3, "fail": 0, "info": 0}
