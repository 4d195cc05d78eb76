"""One pass over the history, line by line: every event updates compact tables; nothing keeps the events.

The analyses (queue, txn, group, mirror) run on these tables after the last line. Checks that need the whole
log (skips, lost writes) are kept as small candidate lists here and decided at the end.

An op whose value (or a record in it) carries `"cluster"` names a topic of that cluster: the log knows it as
`<cluster>:<topic>`, and a consumer group of that cluster as `<cluster>:<group>`. `mirror-poll` and
`mirror-drain` only feed the mirror tracker; the single-cluster checks never see them.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from operator import itemgetter, methodcaller
from typing import Any

from checkers.groups import GroupTracker
from checkers.log import FAIL, INFO, MISSING, NONE, Log, Offsets, OpTimes, hashable, qualify
from checkers.mirror_reads import MirrorTracker
from checkers.ownership import OwnershipTracker
from checkers.shape import CLIENT_FS, TXN_MICRO_FS, problem, unknown_f
from checkers.share import ShareTracker
from checkers.txns import TxnTable
from core.errors import HistoryError
from core.faults import FaultTimeline
from core.history import NEMESIS, op_fields

Process = int | str
# (process, pid, from offset, to offset, from op, to op): two successive reads of one partition by one process
Step = tuple[Process, int, int, int, int, int]
Pending = tuple[int, str, Any, Any]  # invoke index, f, value, what the invoke handler kept
_RECORD = itemgetter("topic", "partition", "offset", "value")
_NAMES_CLUSTER = methodcaller("__contains__", "cluster")
RESETS = frozenset({"assign", "subscribe", "seek", "rebalance"})
_NO_OFFSETS = Offsets()  # never written: a read loop's partition before its first record


class Ingest:
    def __init__(self) -> None:
        self.times = OpTimes()
        self.faults = FaultTimeline()
        self.log = Log()
        self.txns = TxnTable()
        self.groups = GroupTracker()
        self.ownership = OwnershipTracker()
        self.mirror = MirrorTracker()
        self.share = ShareTracker()
        self._qualified: dict[tuple[Any, Any], str] = {}  # (cluster, topic or group) -> "cluster:name"
        self.pending: dict[Process, Pending] = {}
        self.ops: dict[tuple[str, str], int] = {}
        self.positions: dict[Process, dict[int, int]] = {}  # process -> pid -> offset it read last
        self.position_ops: dict[Process, dict[int, int]] = {}  # ... and the op that read it
        self.backwards: list[Step] = []
        # Gaps between two successive reads, six ints each: (process number, pid, from offset, to offset, from op,
        # to op). Most jump over nothing (a commit marker takes an offset), so they are kept flat until resolved.
        # An op's successive gaps over one offset each in one partition (the commit markers) are one row,
        # (-1 - process number, pid, start, end, op, op): their from offsets are gap_lows[start:end].
        self.gaps = array("q")
        self.gap_lows = array("q")
        self.process_numbers: dict[Process, int] = {}
        self.numbered_processes: list[Process] = []
        self.spans: dict[tuple[int, int], tuple[int, int]] = {}  # (op, pid) -> first, last offset: ops with a gap
        self.producer_seq: dict[Any, int] = {}
        # (producer, pid) -> seq, row, seq, row, ... of each acknowledged send, seq = order the producer took it (its
        # offset, invoke and ok are the row's own: 8 bytes a send, not a tuple of five ints)
        self.producer_sends: dict[tuple[Any, int], array[int]] = {}
        self.records_read = 0
        self._last_index = -1  # indexes increase line by line, from 0
        self._error: Any = None  # the `error` of the completion being handled
        self._invokes: dict[str, Callable[[int, Any, Process, int], Any]] = {
            "send": self._send_invoked, "txn": self._txn_invoked, "commit": self._commit_invoked,
            "share-ack": self._share_ack_invoked}
        self._completions: dict[str, Callable[[str, int, Any, Process, Pending, int], None]] = {
            "send": self._send_done, "poll": self._poll_done, "txn": self._txn_done, "drain": self._drain_done,
            "commit": self._commit_done, "subscribe": self._reset_done, "assign": self._reset_done,
            "seek": self._reset_done, "rebalance": self._reset_done, "mirror-poll": self._mirror_poll_done,
            "mirror-drain": self._mirror_drain_done, "share-subscribe": self._share_subscribe_done,
            "share-poll": self._share_poll_done, "share-ack": self._share_ack_done,
            "share-drain": self._share_drain_done}

    # ---- dispatch ----------------------------------------------------------------------------------------

    def feed(self, line: int, event: dict[str, Any]) -> None:
        index, time, process, type_, f = op_fields(line, event)
        if index <= self._last_index:
            if index < 0:
                raise HistoryError(f"line {line}: index {index} is negative: indexes count ops from 0")
            raise HistoryError(f"line {line}: index {index} " + (
                "repeats the previous op's" if index == self._last_index else f"comes after index {self._last_index}")
                + ": every op has its own index, increasing line by line")
        self._last_index = index
        self.times.add(index, int(time))
        value = event.get("value")
        if process == NEMESIS:
            try:
                self.faults.feed(index, int(time), type_, f, value, event.get("error"))
            except TypeError:  # an unhashable fault id
                raise HistoryError(f"line {line}: field `value.fault` of a nemesis op must be a string or a "
                                   f"number, got {_fault_of(value)!r}") from None
            if type_ == "invoke":
                self.ownership.member_fault(f, value, index)
            return
        try:
            if type_ == "invoke":
                if process in self.pending:
                    raise HistoryError(f"line {line}: process {process!r} invoked {f} while its op "
                                       f"{self.pending[process][0]} was outstanding (one op at a time)")
                handler = self._invokes.get(f)
                if handler is None and f not in CLIENT_FS:
                    raise HistoryError(f"line {line}: {unknown_f(f, process)}")
                self.pending[process] = (index, f, value, handler(index, value, process, line) if handler else None)
                return
            invoked = self.pending.pop(process, None)
            if invoked is None or invoked[1] != f:
                raise HistoryError(f"line {line}: {type_} {f} by process {process!r} without a matching invoke")
            key = (f, type_)
            self.ops[key] = self.ops.get(key, 0) + 1
            done = self._completions.get(f)
            if done is not None:
                self._error = event.get("error")
                done(type_, index, value, process, invoked, line)
            if type_ == "info":
                self.ownership.ended(process, index)
        except (KeyError, TypeError, AttributeError, IndexError) as error:
            # Values are read unchecked (the fast path); only a failed read asks what the format says is wrong.
            why = problem(f, type_, value) or f"malformed {f} {type_} value ({type(error).__name__}: {error})"
            raise HistoryError(f"line {line}: {why}") from None

    def finish(self) -> None:
        """Ops still outstanding at the end are indeterminate, like info."""
        for process, (_, f, _, _) in self.pending.items():
            key = (f, "pending")
            self.ops[key] = self.ops.get(key, 0) + 1
            self.positions.pop(process, None)

    # ---- clusters ----------------------------------------------------------------------------------------

    def _in(self, cluster: Any, name: Any) -> Any:
        """A topic (or group) as the tables name it: `name` itself, or `cluster:name` when the op names a cluster."""
        if cluster is None:
            return name
        qualified = self._qualified.get((cluster, name))
        if qualified is None:
            qualified = self._qualified[(cluster, name)] = qualify(cluster, name)
        return qualified

    @property
    def clusters(self) -> set[str]:
        """Every cluster a client op named."""
        return {cluster for cluster, _ in self._qualified}

    # ---- sends -------------------------------------------------------------------------------------------

    def _producer(self, value: Any, default: Any) -> tuple[Any, int]:
        producer = value.get("producer", default)
        seq = self.producer_seq.get(producer, 0)
        self.producer_seq[producer] = seq + 1
        return producer, seq

    def _send_invoked(self, index: int, value: Any, process: Process, line: int) -> Any:
        topic, cluster = value["topic"], value.get("cluster")
        row = self.log.sent(topic if cluster is None else self._in(cluster, topic), value["value"], index, NONE, line)
        return (row, *self._producer(value, process))

    def _acknowledge(self, row: int, producer: Any, seq: int, value: Any, invoke: int, index: int) -> tuple[int, int]:
        pid = self.log.acknowledged(row, value["partition"], offset := value["offset"], index)
        sends = self.producer_sends.get((producer, pid))
        if sends is None:
            sends = self.producer_sends[(producer, pid)] = array("i")
        sends.append(seq)
        sends.append(row)
        return pid, offset

    def _send_done(self, type_: str, index: int, value: Any, process: Process, invoked: Pending, line: int) -> None:
        row, producer, seq = invoked[3]
        if type_ == "ok":
            self._acknowledge(row, producer, seq, value, invoked[0], index)
        else:
            self.log.status[row] = FAIL if type_ == "fail" else INFO
            self.log.done[row] = index

    # ---- reads -------------------------------------------------------------------------------------------

    def _poll_done(self, type_: str, index: int, value: Any, process: Process, invoked: Pending, line: int) -> None:
        if type_ == "ok" and value:
            self._read(process, value["records"], index, invoked[0], NONE, value.get("cluster"))

    def _read(self, process: Process, records: list[Any], op: int, invoke: int, node: int, cluster: Any) -> None:
        """`cluster`: the one the op read from; a record naming its own cluster overrides it."""
        log, in_cluster = self.log, self._in
        pids, rows_by_topic, at, max_read = log.pids, log.rows, log.at, log.max_read
        read_op, loc_pid, loc_offset = log.read_op, log.loc_pid, log.loc_offset
        positions = self.positions.get(process)
        if positions is None:
            positions = self.positions[process] = {}
            position_ops = self.position_ops[process] = {}
        else:
            position_ops = self.position_ops[process]
        consumed = self.groups.consumed_by(process)
        redelivered = consumed.redelivered if consumed is not None else 0
        # The group's consumed offsets of the partition being read (Group.consume, inlined), and its re-reads.
        group_sets: dict[int, set[int]] = consumed.consumed if consumed is not None else {}
        consumed_here: set[int] = set()
        again = 0
        in_txn = node != NONE
        peaks: dict[int, int] = {}  # pid -> highest offset read, where the op went backwards
        writers: dict[int, int] = {}  # writer txn -> the row of the first record read from it
        writer_of, extra, wr_places = log.txn, log.extra, self.txns.wr_places
        firsts: dict[int, int] = {}
        gapped: dict[int, None] = {}  # pids this op skipped offsets of, between two of its own records
        gap, backwards = self.gaps.extend, self.backwards.append
        lows = self.gap_lows
        one_over, mark = lows.append, len(lows)  # lows[mark:]: this op's gaps over one offset not yet in gaps
        number = self.process_numbers.get(process)
        if number is None:
            number = self.process_numbers[process] = len(self.numbered_processes)
            self.numbered_processes.append(process)
        grew: dict[int, int] = {}  # pid -> the highest offset read yet, where this op raised it
        last_topic: Any = MISSING
        last_partition: Any = MISSING
        parts: Any = None
        rows: Any = None
        # The partition being read, kept in locals while the records stay in it (they usually come a partition at
        # a time): its offset -> value map, this process's position in it, the highest offset anyone read there.
        pid: Any = NONE
        current = last = top = NONE
        started = False
        seen = _NO_OFFSETS  # replaced at the first record: its pid is never `current`
        seen_rows, seen_base, seen_end = seen.rows, seen.base, 0
        if cluster is not None or any(map(_NAMES_CLUSTER, records)):
            records = [{**r, "topic": in_cluster(r.get("cluster", cluster), r["topic"])} for r in records]
        # Each record unpacked by one C call; topics compared by value (the parser makes a new str every time).
        for topic, partition, offset, value in map(_RECORD, records):
            if partition != last_partition or topic != last_topic:  # equal ones look the same pid up
                if topic != last_topic:
                    parts, rows, last_topic = pids.get(topic), rows_by_topic.get(topic), topic
                pid = parts.get(partition) if parts is not None else None
                if pid is None:
                    pid = log.pid(topic, partition)
                    parts, rows = pids[topic], rows_by_topic[topic]
                last_partition = partition
                if pid != current:
                    if current != NONE:  # leaving partition `current`
                        if len(lows) > mark:
                            gap((-1 - number, current, mark, len(lows), op, op))
                            gapped[current], mark = None, len(lows)
                        positions[current] = last
                        if last > top:
                            top = last
                        if top > max_read[current]:
                            max_read[current] = grew[current] = top
                    current, seen, last, top = pid, at[pid], positions.get(pid, NONE), max_read[pid]
                    seen_rows, seen_base, seen_end, started = seen.rows, seen.base, len(seen.rows), pid in firsts
                    if consumed is not None:
                        here = group_sets.get(pid)
                        if here is None:
                            here = group_sets[pid] = set()
                        consumed_here = here
            if type(offset) is not int:
                raise TypeError(f"offset {offset!r} is not an int")
            try:
                row = rows.get(value)
            except TypeError:  # a list or an object: known by its canonical JSON text (ints and strings are themselves)
                value = hashable(value)
                row = rows.get(value)
            if row is None:
                row = log.row(topic, value)
            i = offset - seen_base
            known = seen_rows[i] if 0 <= i < seen_end else seen.row(offset)
            # Whoever put a row at an offset also recorded that place among the row's sightings (here or in
            # Log.acknowledged): a row already known at this offset needs no sighting check.
            if known != row:
                if known == NONE:
                    seen.put(offset, row)
                    seen_base, seen_end = seen.base, len(seen_rows)
                else:
                    log.conflict(pid, offset, log.value[known], value)
                where = loc_pid[row]
                if where == NONE:
                    loc_pid[row], loc_offset[row], log.loc_op[row] = pid, offset, op
                elif where != pid or loc_offset[row] != offset:
                    log.elsewhere(row, pid, offset, op)
            if read_op[row] == NONE:
                read_op[row] = op
            if started:  # an earlier record of this op came from pid
                if offset <= last:
                    if last > top:  # the highest offset read is one before a step back, or the last
                        top = last
                    backwards((process, pid, last, offset, op, op))
                    peaks[pid] = max(last, peaks.get(pid, NONE))
                elif offset != last + 1:
                    if offset == last + 2:
                        one_over(last)
                    else:
                        if len(lows) > mark:  # the gaps over one offset before this one come first
                            gap((-1 - number, pid, mark, len(lows), op, op))
                            mark = len(lows)
                        gap((number, pid, last, offset, op, op))
                        gapped[pid] = None
            else:
                firsts[pid] = offset
                started = True
                if last == NONE:  # offsets are never negative
                    if consumed is not None:
                        self.groups.resumed(process, pid, offset, op, invoke)
                elif offset <= last:
                    backwards((process, pid, last, offset, position_ops[pid], op))
                elif offset != last + 1:
                    gap((number, pid, last, offset, position_ops[pid], op))
            last = offset
            if consumed is not None:
                if offset in consumed_here:
                    again += 1
                else:
                    consumed_here.add(offset)
            if in_txn:
                writer = writer_of[row]
                if writer != NONE and writer != node and writer not in writers:
                    writers[writer] = row
                    if row in extra:  # the value has more than one place: keep the one read here
                        wr_places[(node, writer)] = (pid, offset)
        if current != NONE:
            if len(lows) > mark:
                gap((-1 - number, current, mark, len(lows), op, op))
                gapped[current] = None
            positions[current] = last
            if last > top:
                top = last
            if top > max_read[current]:
                max_read[current] = grew[current] = top
        self.records_read += len(records)
        for pid, offset in grew.items():  # one advance per op and partition: the witness op stays the same
            log.advance_offset[pid].append(offset)
            log.advance_op[pid].append(op)
        for pid in firsts:
            position_ops[pid] = op
        if consumed is not None:
            consumed.redelivered += again
            self.ownership.read(process, firsts, op, consumed.redelivered - redelivered)
        for pid in gapped:
            self.spans[(op, pid)] = (firsts[pid], positions[pid])
        if in_txn:
            reads = self.txns.reads  # TxnTable.read_up_to, inlined: once per transaction
            for pid in firsts:
                reads.append((node, pid, max(positions[pid], peaks.get(pid, NONE))))
            if writers:
                self.txns.wr[node] = writers

    def _drain_done(self, type_: str, index: int, value: Any, process: Process, invoked: Pending, line: int) -> None:
        if type_ != "ok":
            return
        pid = self.log.pid(self._in(value.get("cluster"), value["topic"]), value["partition"])
        high = value["high_watermark"]
        if type(high) is not int:
            raise TypeError(f"high_watermark {high!r} is not an int")
        if high > self.log.drains.get(pid, (NONE, NONE))[0]:
            self.log.drains[pid] = (high, index)

    def _forget(self, process: Process) -> None:
        self.positions.pop(process, None)
        self.position_ops.pop(process, None)

    def _reset_done(self, type_: str, index: int, value: Any, process: Process, invoked: Pending, line: int) -> None:
        if type_ == "fail":
            return  # certainly did not happen: the consumer still reads from where it was
        self._forget(process)
        f, value = invoked[1], value if isinstance(value, dict) else invoked[2]
        if f == "subscribe" or f == "rebalance":
            group = (value or {}).get("group") if f == "subscribe" else None
            if isinstance(group, str):
                group = self._in(value.get("cluster"), group)
            earliest = f == "subscribe" and (value or {}).get("offset_reset") == "earliest"
            self.groups.joined(process, group, f == "subscribe", earliest)
            if f == "subscribe" and isinstance(group, str):
                self.ownership.subscribed(process, group, value.get("protocol"))
            elif f == "rebalance":
                self.ownership.rebalanced(process, value, invoked[0], index, type_ == "ok",
                                          lambda topic, partition: self.log.pid(self._in(value.get("cluster"), topic),
                                                                                partition))
        elif f == "seek" and isinstance(value, dict):
            topic = self._in(value.get("cluster"), value["topic"])
            self.groups.sought(process, self.log.pid(topic, value["partition"]))

    # ---- transactions ------------------------------------------------------------------------------------

    def _txn_invoked(self, index: int, value: Any, process: Process, line: int) -> Any:
        node = self.txns.add(index, process)
        sends = []
        cluster, sent, seqs = value.get("cluster"), self.log.sent, self.producer_seq
        for micro in value["ops"]:
            micro_f = micro["f"]
            if micro_f == "send":
                at, topic = micro.get("cluster", cluster), micro["topic"]
                row = sent(topic if at is None else self._in(at, topic), micro["value"], index, node, line)
                producer = micro.get("producer", value.get("producer", process))  # _producer, inlined
                seq = seqs.get(producer, 0)
                seqs[producer] = seq + 1
                sends.append((row, producer, seq))
            elif micro_f not in TXN_MICRO_FS:  # a typo must not drop a send unnoticed
                raise TypeError(f"micro-op f {micro_f!r}")
        return node, sends

    def _txn_done(self, type_: str, index: int, value: Any, process: Process, invoked: Pending, line: int) -> None:
        node, sends = invoked[3]
        self.txns.completed(node, index, type_)
        if type_ != "ok":
            for row, _, _ in sends:
                self.log.status[row] = FAIL if type_ == "fail" else INFO
                self.log.done[row] = index
            self._forget(process)  # an aborted transaction's reads are void; the client seeks back
            return
        ops = value["ops"]
        micro_sends = [m for m in ops if m["f"] == "send"]
        if len(micro_sends) != len(sends):
            raise HistoryError(f"line {line}: txn completed with {len(micro_sends)} sends, invoked with {len(sends)}")
        acknowledge = self._acknowledge
        writes = [(*acknowledge(row, producer, seq, micro, invoked[0], index), row)
                  for (row, producer, seq), micro in zip(sends, micro_sends, strict=True)]
        if writes:
            self.txns.wrote(node, writes)
        records: list[Any] = []
        cluster = value.get("cluster", invoked[2].get("cluster"))
        for micro in ops:
            if micro["f"] == "poll":
                inner = micro.get("value")
                got = micro["records"] if "records" in micro else (inner or {}).get("records", ())
                own = micro.get("cluster")
                if own is not None and own != cluster:
                    got = [r if "cluster" in r else {**r, "cluster": own} for r in got]
                records.extend(got)
        self._read(process, records, index, invoked[0], node, cluster)

    # ---- consumer groups ---------------------------------------------------------------------------------

    def _commit_invoked(self, index: int, value: Any, process: Process, line: int) -> Any:
        cluster = value.get("cluster")
        offsets = value["offsets"]
        if cluster is not None or any("cluster" in entry for entry in offsets):
            group = value.get("group")
            value = {**value, "group": self._in(cluster, group) if isinstance(group, str) else group,
                     "offsets": [{**e, "topic": self._in(e.get("cluster", cluster), e["topic"])} for e in offsets]}
        return self.groups.commit_invoked(process, value, index, self.log.pid)

    def _commit_done(self, type_: str, index: int, value: Any, process: Process, invoked: Pending, line: int) -> None:
        if type_ == "ok":
            self.groups.committed(process, invoked[0], index, invoked[3])
        kept = invoked[3]
        entries = [(pid, offset) for pid, offset, _ in kept[1]] if kept is not None else []
        self.ownership.commit_done(process, invoked[2], entries, invoked[0], index, type_, self._error)

    # ---- MirrorMaker 2 -----------------------------------------------------------------------------------

    def _mirror_poll_done(self, type_: str, index: int, value: Any, process: Process, invoked: Pending,
                          line: int) -> None:
        if type_ == "ok":
            self.mirror.read(index, invoked[2], value)

    def _mirror_drain_done(self, type_: str, index: int, value: Any, process: Process, invoked: Pending,
                           line: int) -> None:
        if type_ == "ok":
            self.mirror.drained(index, invoked[2], value)

    # ---- share groups (KIP-932): their own tracker; a share poll moves no consumer position ------------------

    def _share_subscribe_done(self, type_: str, index: int, value: Any, process: Process, invoked: Pending,
                              line: int) -> None:
        if type_ != "fail":
            self.share.subscribed(process, invoked[2])

    def _share_poll_done(self, type_: str, index: int, value: Any, process: Process, invoked: Pending,
                         line: int) -> None:
        if type_ == "ok":
            self.share.polled(process, invoked[0], index, value)

    def _share_ack_invoked(self, index: int, value: Any, process: Process, line: int) -> Any:
        return self.share.ack_invoked(process, value)

    def _share_ack_done(self, type_: str, index: int, value: Any, process: Process, invoked: Pending,
                        line: int) -> None:
        self.share.ack_done(process, type_, invoked[0], index, value, invoked[3])

    def _share_drain_done(self, type_: str, index: int, value: Any, process: Process, invoked: Pending,
                          line: int) -> None:
        if type_ == "ok":
            self.share.drained(invoked[0], invoked[2])


def _fault_of(value: Any) -> Any:
    return value.get("fault") if isinstance(value, dict) else None
