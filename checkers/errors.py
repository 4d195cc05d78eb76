"""The one error a checker raises: the history cannot be read or breaks the format's contract."""

from __future__ import annotations


class HistoryError(ValueError):
    """Unreadable or invalid history; the message is one line and names the line number where it can."""
