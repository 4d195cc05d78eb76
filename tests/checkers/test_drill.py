"""A DR drill's figures from a hand-made history: RTO, RPO, and the application group's skips and re-reads."""

from __future__ import annotations

from typing import Any

from checkers.drill import drill_figures

S = 1_000_000_000


class Drill:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def at(self, seconds: float, process: Any, type_: str, f: str, value: Any = None) -> None:
        self.events.append({"index": len(self.events), "time": int(seconds * S), "process": process,
                            "type": type_, "f": f, "value": value})

    def send(self, t: float, producer: str, cluster: str, value: int, partition: int, offset: int,
             took: float = 0.1, outcome: str = "ok") -> None:
        sent = {"topic": "jepsen-aa", "value": value, "producer": producer, "cluster": cluster}
        self.at(t, producer, "invoke", "send", sent)
        done = {**sent, "partition": partition, "offset": offset} if outcome == "ok" else sent
        self.at(t + took, producer, outcome, "send", done)

    def read(self, t: float, f: str, values: list[int], group: bool = False, cluster: str = "dc2") -> None:
        value: dict[str, Any] = {"cluster": cluster, "records": [{"topic": "t", "partition": 0, "offset": i,
                                                                 "value": v} for i, v in enumerate(values)]}
        if group:
            value["group"] = "app"
        self.at(t, "reader", "invoke", f, None)
        self.at(t + 0.05, "reader", "ok", f, value)

    def mark(self, t: float, f: str) -> None:
        self.at(t, "nemesis", "invoke", f, {})
        self.at(t, "nemesis", "info", f, {})


def drill() -> Drill:
    d = Drill()
    for i in range(4):  # dc1 writes offsets 0..3 before the failure at t=10
        d.send(1 + i, "dc1-p0", "dc1", i, 0, i)
    d.read(2.5, "mirror-poll", [0, 1])  # dc2 had mirrored 0 and 1 by the failure
    d.read(3.0, "poll", [0, 1, 2], group=True, cluster="dc1")  # the app processed 0..2 at home
    d.mark(10, "start-outage-dc1")
    d.send(10.5, "dc1-p0", "dc1", 4, 0, 4, outcome="info")  # cut off: unknown
    d.mark(13, "failover-clients")
    d.send(14, "dc1-failover-p0", "dc2", 5, 0, 0, took=0.5)  # acknowledged at 14.5: write RTO 4.5 s
    d.read(15, "mirror-poll", [3], group=True)  # the app, failed over: offset 3 of dc1 via the mirror
    d.read(16, "poll", [5])  # the failed-over write read at 16.05: read RTO 6.05 s
    d.mark(30, "stop-outage-dc1")
    d.mark(35, "failback-clients")
    d.read(36, "poll", [2, 3], group=True, cluster="dc1")  # back home from its commit: 2 and 3 again
    return d


def test_rto_is_measured_from_the_failure_to_the_first_write_and_read_after_it():
    figures = drill_figures(drill().events)
    assert figures["dc"] == "dc1" and figures["failure_s"] == 10.0 and figures["return_s"] == 30.0
    assert figures["rto_write_s"] == 4.5 and figures["rto_read_s"] == 6.05


def test_rpo_counts_what_no_other_cluster_had_mirrored_at_the_failure():
    rpo = drill_figures(drill().events)["rpo"]
    assert rpo["acknowledged_before_failure"] == 4
    assert rpo["unmirrored_at_failure"] == 2 and rpo["unmirrored_seconds"] == 6.9  # acked at 3.1 and 4.1
    assert rpo["lost"] == 0  # the app read 3 through the mirror, and 2 at home


def test_a_record_read_at_home_before_the_failure_but_never_copied_nor_read_after_it_is_lost():
    d = drill()
    d.events = [e for e in d.events if not (e["f"] in ("poll", "mirror-poll") and e["type"] == "ok"
                                            and any(r["value"] == 3 for r in e["value"]["records"]))]
    # 2 was processed at home before the failure, never mirrored, and (its read at 36 s gone) never seen after.
    assert drill_figures(d.events)["rpo"]["lost_values"] == [2, 3]


def test_reads_repeated_after_failback_are_rereads_not_skips():
    app = drill_figures(drill().events)["app"]
    assert app["reread"] == {"home": 0, "failover": 0, "failback": 2}
    assert app["reads_by_phase"] == {"home": 3, "failover": 1, "failback": 2}
    assert app["skipped"] == {"home": 0, "failover": 0, "failback": 0}


def test_a_translated_offset_past_unprocessed_records_is_a_skip_at_failover():
    d = Drill()
    for i in range(6):
        d.send(1 + i * 0.5, "dc1-p0", "dc1", i, 0, i)
    d.read(4, "poll", [0, 1], group=True, cluster="dc1")
    d.mark(10, "start-outage-dc1")
    d.mark(12, "failover-clients")
    d.read(13, "mirror-poll", [4, 5], group=True)  # resumed at source offset 4: 2 and 3 never processed
    app = drill_figures(d.events)["app"]
    assert app["skipped"]["failover"] == 2 and app["skipped_values"] == {"failover": [2, 3]}


def test_without_an_outage_the_figures_say_so():
    assert "error" in drill_figures([])


def test_per_second_counts_writes_on_each_side_and_the_worst_mirror_lag_of_the_failed_dcs_writes():
    series = drill_figures(drill().events)["per_second"]
    assert series["second"] == list(range(15))  # the last acknowledgement came at 14.5 s
    assert series["home_writes"][1:5] == [1, 1, 1, 1] and series["home_writes"][14] == 1  # dc1-p0, then its
    assert sum(series["other_writes"]) == 0  # failed-over producer (named dc1-…) at 14.5 s
    # 0 (acknowledged at 1.1 s) and 1 (2.1 s) were first mirrored at 2.55 s, 3 (4.1 s) only at 15.05 s, after
    # the failure; 2 never was, and a second without a mirrored write has no lag
    assert series["mirror_lag_max_s"][1:5] == [1.45, 0.45, None, 10.95]


def test_the_drill_plot_is_drawn_from_the_figures_alone(tmp_path):
    from harness.drill import _plot

    _plot(tmp_path, drill_figures(drill().events))
    assert (tmp_path / "drill.png").stat().st_size > 10_000
