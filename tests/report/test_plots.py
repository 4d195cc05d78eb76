from pathlib import Path

import matplotlib

from harness.report.data import load_run
from harness.report.plots import CLUSTER_STATE, LATENCY, THROUGHPUT, write_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plots_are_png_files_next_to_the_history(reported_dir: Path) -> None:
    for name in (LATENCY, THROUGHPUT, CLUSTER_STATE):
        data = (reported_dir / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000, name
    assert matplotlib.get_backend().lower() == "agg"


def test_no_cluster_state_means_no_broker_plot_and_no_stale_one(history_only: Path) -> None:
    (history_only / CLUSTER_STATE).write_bytes(PNG_MAGIC)  # left by an earlier report
    written = {p.name for p in write_plots(load_run(history_only), history_only)}
    assert written == {LATENCY, THROUGHPUT}
    assert not (history_only / CLUSTER_STATE).exists()


def test_a_history_without_client_ops_has_nothing_to_plot(tmp_path: Path) -> None:
    (tmp_path / "history.jsonl").write_bytes(
        b'{"index":0,"time":5,"process":"nemesis","type":"invoke","f":"heal-all","value":{}}\n')
    assert write_plots(load_run(tmp_path), tmp_path) == []
