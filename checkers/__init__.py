"""Pure checkers: stream a history (docs/history-format.md), return named anomalies with their evidence.

No Docker, no Kafka, no harness imports: everything follows from the history alone.
"""

from checkers.check import WORKLOADS, check_events, check_file
from checkers.render import render_text
from checkers.result import INFORMATIONAL, Anomaly, CheckResult, FaultRef, result_to_json
from core.errors import HistoryError

__all__ = ["INFORMATIONAL", "WORKLOADS", "Anomaly", "CheckResult", "FaultRef", "HistoryError", "check_events",
           "check_file", "render_text", "result_to_json"]
