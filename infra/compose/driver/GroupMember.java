package org.kafkajepsen.driver;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * One consumer in the group, one process, as workloads/group.py's Member: `subscribe`, then `poll` ops,
 * `commit` ops and the `rebalance` ops its listener reports (assigned, revoked, lost). The listener runs inside
 * the client's poll() (or close()), while a `poll` op is under way: the member then completes that poll with the
 * records it has so far, records the rebalance (and the commit of what it processed in the revoked partitions),
 * and begins a new poll. A record poll() returns after a callback came after it.
 *
 * Protocol: "classic" or "consumer" (KIP-848: group.protocol=consumer, and no session timeout or heartbeat
 * interval of the client's own, the coordinator owns them). Every rebalance and commit records the member id and
 * generation the client reports (groupMetadata(); on the consumer protocol the generation is the member epoch).
 *
 * Manual commits (the default): commitSync of what was processed, every commit interval and on revoke. A commit
 * that threw is written as an "error" line for the harness to classify (workloads/outcome.py); the member acts no
 * more unless its class is one the harness names definite (group.commit.definite), as after any info.
 *
 * Auto-commit (member.enable.auto.commit): the client commits on its own, and each commit it reports to
 * CommitRecorder is recorded as an ok `commit` with "auto": true once the member's thread is back from the client.
 *
 * Processing (group.process.ms > 0): every batch poll() returns is processed for that long before it is
 * recorded and the member polls again, as a plain poll loop does; the poll op ends with that batch. A crash
 * requested meanwhile stops the processing: the batch is never recorded, it was never processed.
 */
final class GroupMember implements ConsumerRebalanceListener {
    private final Config config;
    private final Events events;
    private final String group;
    private final String protocol;
    private final Set<String> definiteCommitErrors;
    final boolean autoCommit;
    private final long processMs;
    private final Queue<Map<TopicPartition, OffsetAndMetadata>> autoCommits;
    final String process;
    final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<Integer, Long> processed = new HashMap<>(); // partition -> next offset after the last record
    private final Map<Integer, Long> committed = new HashMap<>();
    private StringBuilder records; // the poll op under way, or null
    private int count;
    boolean alive = true; // false once crashed or after an info: its client may call back; it records nothing
    long lastCommit = System.nanoTime();
    int unprocessed; // records of the batch a crash stopped mid-processing

    GroupMember(Config config, Events events, String protocol) {
        this.config = config;
        this.events = events;
        this.protocol = protocol;
        this.group = config.text("group.id");
        this.definiteCommitErrors = Set.of(config.text("group.commit.definite").split(","));
        this.autoCommit = Boolean.parseBoolean(config.member.getProperty("enable.auto.commit", "false"));
        this.processMs = config.integer("group.process.ms");
        this.process = events.newProcess();
        this.autoCommits = CommitRecorder.queueOf(process);
        Properties props = new Properties();
        props.putAll(config.member);
        props.put("group.id", group);
        props.put("client.id", "java-member-" + process);
        if (autoCommit) {
            props.put("interceptor.classes", CommitRecorder.class.getName());
            props.put(CommitRecorder.PROCESS_SETTING, process);
        }
        if (protocol.equals("consumer")) {
            // the client refuses these on the consumer protocol: the coordinator sets them (broker config)
            props.remove("session.timeout.ms");
            props.remove("heartbeat.interval.ms");
            props.put("group.protocol", "consumer");
        }
        this.consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    void subscribe() {
        String value = "{\"topics\":[" + Events.str(config.topic) + "],\"group\":" + Events.str(group)
                + ",\"offset_reset\":\"earliest\",\"protocol\":" + Events.str(protocol) + "}";
        events.op(process, "invoke", "subscribe", value);
        consumer.subscribe(List.of(config.topic), this);
        events.op(process, "ok", "subscribe", value);
    }

    /** One `poll` op (split by any rebalance or recorded auto-commit during it); false once this member may act
     * no more. `crashRequested` ends a batch's processing early: the member records what it had processed before
     * the batch, and returns false while still alive, for its slot to crash it. */
    boolean poll(long durationMs, int most, BooleanSupplier crashRequested) {
        begin();
        long deadline = System.nanoTime() + durationMs * 1_000_000L;
        try {
            long left;
            while (alive && count < most && (left = (deadline - System.nanoTime()) / 1_000_000L) > 0) {
                ConsumerRecords<byte[], byte[]> polled = consumer.poll(Duration.ofMillis(left));
                recordAutoCommits();
                if (records == null) {
                    continue;
                }
                boolean batch = processMs > 0 && !polled.isEmpty();
                if (batch && !processed(crashRequested)) {
                    unprocessed = polled.count(); // the crash fault says how much it stopped mid-batch
                    endPoll(); // what it processed before this batch; the slot sees the crash request
                    return false;
                }
                for (ConsumerRecord<byte[], byte[]> r : polled) {
                    add(r);
                }
                if (batch) {
                    break; // the op is this batch: a crash in the next one must not take it unrecorded
                }
            }
        } catch (RuntimeException error) {
            if (alive) {
                events.info(process, "poll", "null", Events.errorName(error));
            }
            alive = false;
        }
        if (!alive) {
            records = null;
            return false;
        }
        endPoll();
        return true;
    }

    /** Process the batch poll() returned: group.process.ms, or less when a crash is requested (false). */
    private boolean processed(BooleanSupplier crashRequested) {
        long until = System.nanoTime() + processMs * 1_000_000L;
        while (System.nanoTime() < until) {
            if (crashRequested.getAsBoolean()) {
                return false;
            }
            try {
                Thread.sleep(Math.min(20, Math.max(1, (until - System.nanoTime()) / 1_000_000L)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** Each commit the client reported to CommitRecorder since the last call, as an ok `commit` "auto": true
     * (between two poll ops when one is under way). No member id or generation: the client reports none with it,
     * and asking the consumer now could race the thread that committed. */
    private void recordAutoCommits() {
        Map<TopicPartition, OffsetAndMetadata> done;
        while ((done = autoCommits.poll()) != null) {
            Map<Integer, Long> offsets = new TreeMap<>();
            for (Map.Entry<TopicPartition, OffsetAndMetadata> e : done.entrySet()) {
                if (e.getKey().topic().equals(config.topic)) {
                    offsets.put(e.getKey().partition(), e.getValue().offset());
                }
            }
            if (!offsets.isEmpty()) {
                String json = commitValue(offsets) + ",\"auto\":true}";
                interrupt(() -> {
                    events.op(process, "invoke", "commit", json);
                    events.op(process, "ok", "commit", json);
                });
            }
        }
    }

    private String commitValue(Map<Integer, Long> offsets) {
        StringBuilder value = new StringBuilder("{\"group\":").append(Events.str(group)).append(",\"offsets\":[");
        boolean first = true;
        for (Map.Entry<Integer, Long> e : offsets.entrySet()) {
            value.append(first ? "" : ",").append("{\"topic\":").append(Events.str(config.topic))
                    .append(",\"partition\":").append(e.getKey()).append(",\"offset\":").append(e.getValue())
                    .append('}');
            first = false;
        }
        return value.append("]").toString();
    }

    private void begin() {
        records = new StringBuilder("[");
        count = 0;
        events.op(process, "invoke", "poll", "null");
    }

    private void add(ConsumerRecord<byte[], byte[]> r) {
        records.append(count == 0 ? "" : ",").append("{\"topic\":").append(Events.str(r.topic()))
                .append(",\"partition\":").append(r.partition()).append(",\"offset\":").append(r.offset())
                .append(",\"value\":").append(Events.recordValue(r.value())).append('}');
        count++;
        processed.put(r.partition(), r.offset() + 1);
    }

    private void endPoll() {
        String done = records.append(']').toString();
        records = null;
        events.op(process, "ok", "poll", "{\"records\":" + done + "}");
    }

    /** Commit what was processed and not yet committed, in `partitions` (null: all). */
    void commit(Collection<Integer> partitions) {
        Map<Integer, Long> offsets = new TreeMap<>();
        for (Map.Entry<Integer, Long> e : processed.entrySet()) {
            if ((partitions == null || partitions.contains(e.getKey()))
                    && !e.getValue().equals(committed.get(e.getKey()))) {
                offsets.put(e.getKey(), e.getValue());
            }
        }
        if (offsets.isEmpty()) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> request = new HashMap<>();
        for (Map.Entry<Integer, Long> e : offsets.entrySet()) {
            request.put(new TopicPartition(config.topic, e.getKey()), new OffsetAndMetadata(e.getValue()));
        }
        String json = commitValue(offsets) + membership() + "}";
        events.op(process, "invoke", "commit", json);
        lastCommit = System.nanoTime();
        try {
            consumer.commitSync(request);
        } catch (RuntimeException error) {
            events.error(process, "commit", json, error, false);
            if (!definiteCommitErrors.contains(error.getClass().getSimpleName())) {
                alive = false; // a process acts no more after an info; a new member takes over
            }
            return;
        }
        events.op(process, "ok", "commit", json);
        committed.putAll(offsets);
    }

    /** Commit and close: the member leaves the group at once (its revoke is recorded by the listener). With
     * auto-commit, close() commits what poll() returned, all of it processed. */
    void leave() {
        if (alive && !autoCommit) {
            commit(null);
        }
        closeQuietly();
        if (alive) {
            recordAutoCommits();
        }
        alive = false;
    }

    /** Stop here and record nothing more; close without a commit, or (`abandon`) leave the consumer as it is,
     * never closed: close() would auto-commit what poll() returned, which a process that died never does. */
    void crash(boolean abandon) {
        alive = false;
        if (!abandon) {
            closeQuietly();
        }
    }

    private void closeQuietly() {
        try {
            consumer.close(Duration.ofSeconds(10));
        } catch (RuntimeException ignored) {
            // closing is best effort; the group notices a member that is gone
        }
    }

    // ---- the listener (inside poll() or close()) --------------------------------------------------------

    private void interrupt(Runnable record) {
        if (!alive) {
            return;
        }
        boolean polling = records != null;
        if (polling) {
            endPoll();
        }
        record.run();
        if (polling && alive) {
            begin();
        }
    }

    private void rebalanced(Collection<TopicPartition> assigned, Collection<TopicPartition> revoked, boolean lost) {
        String value = "{\"assigned\":" + pairs(assigned) + ",\"revoked\":" + pairs(revoked)
                + (lost ? ",\"lost\":true" : "") + membership() + "}";
        events.op(process, "invoke", "rebalance", value);
        events.op(process, "ok", "rebalance", value);
    }

    /** `,"member_id":…,"generation":…` as the client reports them now, or "" when it says nothing yet. */
    private String membership() {
        ConsumerGroupMetadata now;
        try {
            now = consumer.groupMetadata();
        } catch (RuntimeException unknown) {
            return "";
        }
        return ",\"member_id\":" + Events.str(now.memberId()) + ",\"generation\":" + now.generationId();
    }

    private static String pairs(Collection<TopicPartition> partitions) {
        List<TopicPartition> sorted = new ArrayList<>(partitions);
        sorted.sort((a, b) -> a.topic().equals(b.topic()) ? Integer.compare(a.partition(), b.partition())
                : a.topic().compareTo(b.topic()));
        return sorted.stream().map(tp -> "[" + Events.str(tp.topic()) + "," + tp.partition() + "]")
                .collect(Collectors.joining(",", "[", "]"));
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        interrupt(() -> rebalanced(partitions, List.of(), false));
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        interrupt(() -> {
            if (!autoCommit) { // with auto-commit the client commits before it revokes
                commit(partitions.stream().filter(tp -> tp.topic().equals(config.topic))
                        .map(TopicPartition::partition).collect(Collectors.toList()));
            }
            if (!alive) {
                return;
            }
            rebalanced(List.of(), partitions, false);
            forget(partitions);
        });
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
        interrupt(() -> {
            rebalanced(List.of(), partitions, true);
            forget(partitions);
        });
    }

    private void forget(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            processed.remove(tp.partition());
            committed.remove(tp.partition());
        }
    }
}
