"""Share groups (KIP-932): which member the broker handed each record to, under which delivery count, and what
the member answered (accept, release, reject). Rules (docs/history-format.md, "Share groups"):

- share-double-lock: an applied ack of record r by process P (an `ok` `share-ack` whose entry has no `error`;
  an entry's `invalid-record-state` is a refusal, any other error leaves it unknown),
  while another process Q's `share-poll` delivering r was invoked after P's last delivery of r completed and
  completed before P's ack was invoked: Q acquired r while P still held it, since the broker took P's answer as
  the holder's (an acquisition that had expired, or moved to another member, is refused with
  INVALID_RECORD_STATE).
- share-redelivered-after-ack: a `share-poll` delivering r, invoked after an applied accept or reject of r
  completed: an accepted or rejected record is never delivered again.
- share-delivery-count-regression: a delivery of r with a lower delivery count than a delivery of r that had
  completed before it was invoked.
- share-delivery-limit-exceeded: a delivery count above the group's `delivery_count_limit`.
- share-lost: an `ok` send that, when an `ok` `share-drain` of its topic and group was invoked (the group had
  nothing left to deliver), had not been settled: no applied accept or reject, no ack of one whose outcome is
  unknown (`info`), no delivery at the limit (the broker archives it when it comes back). `share-unsettled` is the
  same without a drain, reported and not failed.

Redeliveries (a record delivered again after a release, a lock expiry, a member's crash or a leader's failover)
are what a share group promises, so they are counted, not failed. Every check is one pass; each record keeps its
deliveries, which the delivery limit bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checkers.evidence import Evidence
from checkers.log import NONE, OK, Log
from checkers.result import Anomaly

Process = int | str
Key = tuple[str, str, int, int]  # group, topic, partition, offset
Found = dict[str, list[Anomaly]]
SETTLING = frozenset({"accept", "reject"})
ACK_TYPES = frozenset({"accept", "release", "reject"})
# Entry errors that say the broker refused the ack (the record was not acquired by this member); any other error
# (a timeout, a lost connection) leaves it unknown, like an info.
REFUSALS = frozenset({"invalid-record-state"})


@dataclass(frozen=True)
class Delivery:
    process: Process
    invoke: int
    ok: int
    count: int | None
    peak: int  # the highest delivery count of r among deliveries completed up to this one (NONE: none known)
    peak_op: int  # ... and the poll that had it


@dataclass
class Record:
    key: Key
    value: Any
    deliveries: list[Delivery] = field(default_factory=list)
    settled: tuple[int, int, str] | None = None  # (ack invoke, ack ok, type) of the first applied accept/reject
    maybe_settled: bool = False  # an accept/reject whose ack ended in info
    archived: bool = False  # delivered at the delivery limit
    released: bool = False  # an applied release since its last delivery
    reported_redelivery: bool = False


@dataclass(frozen=True)
class PendingAck:
    """One entry of a `share-ack` as its invoke found it: the record, the answer, and the delivery to another
    process that makes the ack a double lock if the broker applies it."""

    record: Record
    type: str
    mine: Delivery | None
    rival: Delivery | None


class ShareTracker:
    def __init__(self) -> None:
        self.records: dict[Key, Record] = {}
        self.limits: dict[str, int] = {}  # group -> delivery_count_limit (share-subscribe)
        self.groups: dict[str, set[Process]] = {}
        self.topics: dict[str, set[str]] = {}  # group -> topics its members subscribed to
        self.drains: dict[tuple[str, str], int] = {}  # (group, topic) -> invoke of the last ok share-drain
        self.found: Found = {}
        self.pending_anomalies: list[tuple[str, tuple[int, ...], str, dict[str, Any]]] = []
        self.stats = {"deliveries": 0, "redelivered": 0, "redelivered_after_release": 0, "acks": 0,
                      "acks_refused": 0, "acks_unknown": 0, "accepted": 0, "rejected": 0, "released": 0,
                      "archived": 0}

    def active(self) -> bool:
        return bool(self.groups)

    def _record(self, group: str, topic: str, partition: int, offset: int, value: Any) -> Record:
        key = (group, topic, partition, offset)
        record = self.records.get(key)
        if record is None:
            if type(partition) is not int or type(offset) is not int:
                raise TypeError(f"partition {partition!r} and offset {offset!r} must be ints")
            record = self.records[key] = Record(key, value)
        return record

    def _note(self, name: str, ops: tuple[int, ...], explanation: str, **facts: Any) -> None:
        self.pending_anomalies.append((name, ops, explanation, facts))

    # ---- ops -----------------------------------------------------------------------------------------

    def subscribed(self, process: Process, value: Any) -> None:
        group = value["group"]
        self.groups.setdefault(group, set()).add(process)
        topics = value["topics"]
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            raise TypeError(f"topics {topics!r} must be a list of strings")
        self.topics.setdefault(group, set()).update(topics)
        limit = value.get("delivery_count_limit")
        if type(limit) is int:
            self.limits[group] = limit

    def polled(self, process: Process, invoke: int, ok: int, value: Any) -> None:
        group = value["group"]
        limit = self.limits.get(group)
        for r in value["records"]:
            record = self._record(group, r["topic"], r["partition"], r["offset"], r.get("value"))
            count = r.get("delivery_count")
            if count is not None and type(count) is not int:
                raise TypeError(f"delivery_count {count!r} is not an int")
            self._delivered(record, process, invoke, ok, count, limit)

    def _delivered(self, record: Record, process: Process, invoke: int, ok: int, count: int | None,
                   limit: int | None) -> None:
        stats, deliveries = self.stats, record.deliveries
        stats["deliveries"] += 1
        group, topic, partition, offset = record.key
        where = f"{topic}/{partition} offset {offset} (value {record.value!r}) in share group {group!r}"
        if deliveries:
            stats["redelivered"] += 1
            if record.released:
                stats["redelivered_after_release"] += 1
        record.released = False
        settled = record.settled
        if settled is not None and settled[1] < invoke and not record.reported_redelivery:
            record.reported_redelivery = True
            verb = "accepted" if settled[2] == "accept" else "rejected"
            self._note("share-redelivered-after-ack", (settled[0], settled[1], invoke, ok),
                       f"{where} was {verb} (share-ack op {settled[0]}→{settled[1]}) and delivered again afterwards "
                       f"to process {process!r} (share-poll op {invoke}→{ok}).",
                       group=group, topic=topic, partition=partition, offset=offset, value=record.value,
                       ack=settled[2], delivery_count=count)
        # The highest count among deliveries completed before this poll was invoked: skip the concurrent ones.
        before = len(deliveries) - 1
        while before >= 0 and deliveries[before].ok > invoke:
            before -= 1
        peak, peak_op = (deliveries[before].peak, deliveries[before].peak_op) if before >= 0 else (NONE, NONE)
        if count is not None and count < peak:
            self._note("share-delivery-count-regression", (peak_op, invoke, ok),
                       f"{where} was delivered with delivery count {peak} (share-poll op {peak_op}) and later with "
                       f"{count} (share-poll op {invoke}→{ok}, process {process!r}): the count went down.",
                       group=group, topic=topic, partition=partition, offset=offset, value=record.value,
                       earlier_count=peak, later_count=count)
        if count is not None and limit is not None:
            if count > limit:
                self._note("share-delivery-limit-exceeded", (invoke, ok),
                           f"{where} was delivered with delivery count {count} (share-poll op {invoke}→{ok}), above "
                           f"the group's share.delivery.count.limit {limit}.",
                           group=group, topic=topic, partition=partition, offset=offset, value=record.value,
                           delivery_count=count, limit=limit)
            if count >= limit and not record.archived:
                record.archived = True
                stats["archived"] += 1
        last_peak = deliveries[-1].peak if deliveries else NONE
        last_peak_op = deliveries[-1].peak_op if deliveries else NONE
        if count is not None and count > last_peak:
            last_peak, last_peak_op = count, invoke
        deliveries.append(Delivery(process, invoke, ok, count, last_peak, last_peak_op))

    def ack_invoked(self, process: Process, value: Any) -> list[PendingAck]:
        group = value["group"]
        pending = []
        for a in value["acks"]:
            kind = a["type"]
            if kind not in ACK_TYPES:
                raise TypeError(f"ack type {kind!r}")
            record = self._record(group, a["topic"], a["partition"], a["offset"], None)
            mine, rival = self._holders(record, process)
            pending.append(PendingAck(record, kind, mine, rival))
        return pending

    @staticmethod
    def _holders(record: Record, process: Process) -> tuple[Delivery | None, Delivery | None]:
        """P's last delivery of r, and a later delivery of r to another process invoked after it completed (all
        recorded deliveries completed before this ack's invoke). Scans only the deliveries after P's last."""
        rival: Delivery | None = None
        for delivery in reversed(record.deliveries):
            if delivery.process == process:
                return delivery, rival if rival is not None and rival.invoke > delivery.ok else None
            if rival is None or delivery.invoke > rival.invoke:
                rival = delivery
        return None, None

    def ack_done(self, process: Process, type_: str, invoke: int, ok: int, value: Any,
                 pending: list[PendingAck]) -> None:
        stats = self.stats
        if type_ != "ok":
            if type_ == "info":
                stats["acks_unknown"] += len(pending)
                for entry in pending:
                    if entry.type in SETTLING:
                        entry.record.maybe_settled = True
            return
        answered = value["acks"] if isinstance(value, dict) else []
        if len(answered) != len(pending):
            raise TypeError(f"share-ack ok lists {len(answered)} acks, its invoke {len(pending)}")
        for entry, done in zip(pending, answered, strict=True):
            stats["acks"] += 1
            error = done.get("error")
            if error is not None:
                if error in REFUSALS:
                    stats["acks_refused"] += 1
                else:  # a timeout or a lost connection: the broker may have applied it
                    stats["acks_unknown"] += 1
                    entry.record.maybe_settled |= entry.type in SETTLING
                continue
            record = entry.record
            stats[{"accept": "accepted", "reject": "rejected", "release": "released"}[entry.type]] += 1
            if entry.rival is not None and entry.mine is not None:
                mine, rival = entry.mine, entry.rival
                group, topic, partition, offset = record.key
                self._note("share-double-lock", (mine.invoke, mine.ok, rival.invoke, rival.ok, invoke, ok),
                           f"{topic}/{partition} offset {offset} (value {record.value!r}) in share group {group!r} "
                           f"was delivered to process {process!r} (share-poll op {mine.invoke}→{mine.ok}), then to "
                           f"process {rival.process!r} (share-poll op {rival.invoke}→{rival.ok}), and the broker "
                           f"still took process {process!r}'s {entry.type} (share-ack op {invoke}→{ok}) as the "
                           "holder's: two members held it under live acquisition locks at once.",
                           group=group, topic=topic, partition=partition, offset=offset, value=record.value,
                           holders=[process, rival.process])
            if entry.type in SETTLING and record.settled is None:
                record.settled = (invoke, ok, entry.type)
            elif entry.type == "release":
                record.released = True

    def drained(self, invoke: int, value: Any) -> None:
        self.drains[(value["group"], value["topic"])] = invoke


def share_anomalies(share: ShareTracker, log: Log, evidence: Evidence) -> tuple[Found, dict[str, Any]]:
    found: Found = {}
    for name, ops, explanation, facts in share.pending_anomalies:
        found.setdefault(name, []).append(evidence(name, ops, explanation, **facts))
    add = found.setdefault("share-lost", []).append
    unsettled = found.setdefault("share-unsettled", []).append
    lost = open_ = 0
    for group, topics in share.topics.items():
        for row in range(len(log.value)):
            if log.status[row] != OK or log.topic[row] not in topics:
                continue
            topic, partition = log.partitions[log.ack_pid[row]]
            offset = log.ack_offset[row]
            record = share.records.get((group, topic, partition, offset))
            if record is not None and (record.settled or record.maybe_settled or record.archived):
                continue
            drain = share.drains.get((group, topic), NONE)
            last = record.deliveries[-1] if record is not None and record.deliveries else None
            seen = (f"last delivered to process {last.process!r} (share-poll op {last.invoke}→{last.ok}, delivery "
                    f"count {last.count})" if last else "never delivered")
            facts = dict(group=group, topic=topic, partition=partition, offset=offset, value=log.value[row],
                         deliveries=len(record.deliveries) if record else 0)
            proof = [log.invoke[row], log.done[row]] + ([last.invoke, last.ok] if last else [])
            if drain != NONE and log.done[row] < drain:
                lost += 1
                add(evidence("share-lost", proof + [drain],
                             f"value {log.value[row]!r} was acknowledged at {topic}/{partition} offset {offset} "
                             f"(send op {log.invoke[row]}→{log.done[row]}) but share group {group!r} never accepted "
                             f"nor rejected it, nor delivered it at its delivery limit; {seen}; the share-drain "
                             f"(op {drain}) found nothing left to deliver.", **facts))
            else:
                open_ += 1
                unsettled(evidence("share-unsettled", proof,
                                   f"value {log.value[row]!r} was acknowledged at {topic}/{partition} offset {offset} "
                                   f"(send op {log.invoke[row]}→{log.done[row]}) and share group {group!r} had not "
                                   f"settled it ({seen}); no share-drain came after it, so nothing proves it lost.",
                                   **facts))
    found = {name: anomalies for name, anomalies in found.items() if anomalies}
    stats = {**share.stats, "records": len(share.records), "members": sum(map(len, share.groups.values())),
             "lost": lost, "unsettled": open_}
    return found, stats
