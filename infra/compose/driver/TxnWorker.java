package org.kafkajepsen.driver;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Worker k of the txn workload, as in workloads/txn.py: one transactional.id, one transaction at a time, each one
 * `txn` op of sends and read_committed polls (consume-transform-produce: the positions it read go into the
 * transaction with sendOffsetsToTransaction), committed, or aborted on purpose about one time in ten.
 *
 * The driver reports what happened, the harness decides the outcome (workloads/outcome.py): a commit that
 * returned is `ok`; a transaction that did not commit is written as an "error" line with its stage, the exception
 * and whether abortTransaction returned. After a commit threw, the driver aborts only for the classes the harness
 * names abortable (txn.abortable.on.commit); otherwise (a timeout, a fenced or fatal producer) it gives up on the
 * producer without an abort (KAFKA-17754), and a new producer with the same transactional.id, under a new process,
 * fences it. A transactional producer is only ever closed with a zero timeout: a graceful close aborts an open
 * transaction.
 */
final class TxnWorker implements Runnable {
    private static final int POLL = -1;

    private final Config config;
    private final Events events;
    private final int k;
    private final AtomicLong values;
    private final CountDownLatch stop;
    private final Set<String> abortableOnCommit;
    private final long commitTimeoutMs;
    private final String transactionalId;

    TxnWorker(Config config, Events events, int k, AtomicLong values, CountDownLatch stop) {
        this.config = config;
        this.events = events;
        this.k = k;
        this.values = values;
        this.stop = stop;
        this.abortableOnCommit = Set.of(config.text("txn.abortable.on.commit").split(","));
        this.commitTimeoutMs = config.integer("txn.commit.timeout.ms");
        this.transactionalId = config.text("txn.id.prefix") + "-" + k;
    }

    /** One producer generation: its producer, its read_committed consumer and its process id. */
    private static final class Session {
        final KafkaProducer<byte[], byte[]> producer;
        final KafkaConsumer<byte[], byte[]> consumer;
        final String process;
        final String name;
        final Map<Integer, Long> positions = new HashMap<>(); // partition -> next offset, as librdkafka's position
        boolean open = true;

        Session(KafkaProducer<byte[], byte[]> producer, KafkaConsumer<byte[], byte[]> consumer, String process,
                String name) {
            this.producer = producer;
            this.consumer = consumer;
            this.process = process;
            this.name = name;
        }
    }

    /** One micro-op of a transaction, filled in as it runs. */
    private static final class MicroOp {
        final String f;
        long value;
        int partition;
        long offset = -1;
        String recordsJson;
        String offsetsJson;

        MicroOp(String f) {
            this.f = f;
        }
    }

    private static final class StepFailed extends Exception {
        final Throwable cause;

        StepFailed(Throwable cause) {
            super(cause);
            this.cause = cause;
        }
    }

    static KafkaProducer<byte[], byte[]> producer(Config config, String transactionalId) {
        Properties props = new Properties();
        props.putAll(config.producer);
        props.put("transactional.id", transactionalId);
        props.put("client.id", transactionalId);
        return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    static KafkaConsumer<byte[], byte[]> consumer(Config config, String group) {
        Properties props = new Properties();
        props.putAll(config.consumer);
        props.put("group.id", group);
        props.put("max.poll.records", config.text("txn.poll.records"));
        return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @Override
    public void run() {
        Random rng = new Random(config.integer("txn.seed") * 1_000_003L + k);
        long period = (long) (config.concurrency / config.number("txn.rate") * 1e9);
        long nextAt = System.nanoTime();
        int generation = 0;
        int done = 0;
        boolean unsettled = false; // the last producer may have left a transaction open
        try {
            while (stop.getCount() > 0) {
                Session s = openSession(generation++);
                if (s == null) {
                    unsettled = true;
                    break;
                }
                try {
                    while (s.open && stop.getCount() > 0) {
                        nextAt += period;
                        if (stop.await(Math.max(0, nextAt - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                            break;
                        }
                        List<Integer> steps = new ArrayList<>();
                        boolean abort = plan(rng, steps);
                        runTransaction(s, steps, abort || (k == 0 && done == 1)); // one abort on purpose is certain
                        done++;
                        nextAt = Math.max(nextAt, System.nanoTime() - period); // no burst after a stall
                    }
                } finally {
                    unsettled = !s.open;
                    close(s);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (unsettled) {
            fence();
        }
    }

    /** workloads/txn.py's plan_txn: maybe a read first, one to max_sends sends, maybe a read after them. */
    private boolean plan(Random rng, List<Integer> steps) {
        if (rng.nextDouble() < config.number("txn.poll.probability")) {
            steps.add(POLL);
        }
        long sends = 1 + rng.nextInt((int) config.integer("txn.max.sends"));
        for (int i = 0; i < sends; i++) {
            steps.add(rng.nextInt(config.partitions));
        }
        if (rng.nextDouble() < config.number("txn.late.poll.probability")) {
            steps.add(POLL);
        }
        return rng.nextDouble() < config.number("txn.abort.probability");
    }

    private Session openSession(int generation) throws InterruptedException {
        while (stop.getCount() > 0) {
            KafkaProducer<byte[], byte[]> producer = producer(config, transactionalId);
            try {
                producer.initTransactions();
            } catch (RuntimeException e) {
                producer.close(Duration.ZERO);
                stop.await(500, TimeUnit.MILLISECONDS);
                continue;
            }
            KafkaConsumer<byte[], byte[]> consumer;
            try {
                consumer = consumer(config, transactionalId);
                List<TopicPartition> all = new ArrayList<>();
                for (int p = 0; p < config.partitions; p++) {
                    all.add(new TopicPartition(config.topic, p));
                }
                consumer.assign(all); // resumes at the offsets this worker's transactions committed
            } catch (RuntimeException e) {
                producer.close(Duration.ZERO);
                stop.await(500, TimeUnit.MILLISECONDS);
                continue;
            }
            return new Session(producer, consumer, events.newProcess(), "t" + k + "." + generation);
        }
        return null;
    }

    private void close(Session s) {
        try {
            s.consumer.close(Duration.ofSeconds(5));
        } catch (RuntimeException ignored) {
            // a consumer that cannot close is dropped
        }
        s.producer.close(Duration.ZERO); // never a graceful close: it would abort, or finish, an unknown commit
    }

    /** Settle what a producer with an unknown last transaction left open: a newer epoch of the same
     * transactional.id makes the coordinator finish it now, not after transaction.timeout.ms. */
    private void fence() {
        KafkaProducer<byte[], byte[]> producer = producer(config, transactionalId);
        try {
            producer.initTransactions();
        } catch (RuntimeException ignored) {
            // the coordinator finishes it after transaction.timeout.ms instead
        }
        producer.close(Duration.ZERO);
    }

    // ---- one transaction ---------------------------------------------------------------------------------

    private void runTransaction(Session s, List<Integer> steps, boolean abortOnPurpose) {
        List<MicroOp> ops = new ArrayList<>();
        for (int step : steps) {
            MicroOp op = new MicroOp(step == POLL ? "poll" : "send");
            if (step != POLL) {
                op.value = values.getAndIncrement();
                op.partition = step;
            }
            ops.add(op);
        }
        if (steps.contains(POLL)) {
            ops.add(new MicroOp("commit"));
        }
        String invoke = json(s, ops, false);
        try {
            s.producer.beginTransaction();
        } catch (RuntimeException e) {
            s.open = false; // a local state error: nothing was sent, nothing recorded; start a new producer
            return;
        }
        events.op(s.process, "invoke", "txn", invoke);
        Map<Integer, Long> firstRead = new LinkedHashMap<>();
        try {
            perform(s, ops, firstRead);
        } catch (StepFailed failed) {
            abort(s, invoke, firstRead, "step", failed.cause);
            return;
        }
        if (abortOnPurpose) {
            abort(s, invoke, firstRead, "purpose", null);
        } else {
            commit(s, invoke, ops, firstRead);
        }
    }

    private void perform(Session s, List<MicroOp> ops, Map<Integer, Long> firstRead) throws StepFailed {
        Map<MicroOp, Future<RecordMetadata>> sent = new LinkedHashMap<>();
        try {
            for (MicroOp op : ops) {
                if (op.f.equals("send")) {
                    byte[] payload = Long.toString(op.value).getBytes(StandardCharsets.UTF_8);
                    sent.put(op, s.producer.send(new ProducerRecord<>(config.topic, op.partition, null, payload)));
                } else if (op.f.equals("poll")) {
                    ConsumerRecords<byte[], byte[]> records = s.consumer.poll(Duration.ofMillis(100));
                    op.recordsJson = ConsumerLoop.recordsJson(records);
                    for (ConsumerRecord<byte[], byte[]> r : records) {
                        firstRead.putIfAbsent(r.partition(), r.offset());
                        s.positions.put(r.partition(), r.offset() + 1);
                    }
                }
            }
            s.producer.flush();
        } catch (RuntimeException e) {
            throw new StepFailed(e);
        }
        Throwable first = null;
        for (Map.Entry<MicroOp, Future<RecordMetadata>> e : sent.entrySet()) {
            try {
                RecordMetadata metadata = e.getValue().get(0, TimeUnit.MILLISECONDS);
                e.getKey().partition = metadata.partition();
                e.getKey().offset = metadata.offset();
            } catch (ExecutionException failed) {
                // a failed send makes the producer fail the rest of the batch as aborted: name the cause
                Throwable cause = failed.getCause();
                if (first == null || first.getClass().getSimpleName().equals("TransactionAbortedException")) {
                    first = cause;
                }
            } catch (java.util.concurrent.TimeoutException | InterruptedException notDone) {
                first = first != null ? first : new TimeoutException("no delivery report after flush");
            }
        }
        if (first != null) {
            throw new StepFailed(first);
        }
        MicroOp commit = ops.stream().filter(op -> op.f.equals("commit")).findFirst().orElse(null);
        if (commit != null) {
            sendOffsets(s, commit);
        }
    }

    private void sendOffsets(Session s, MicroOp commit) throws StepFailed {
        Map<TopicPartition, OffsetAndMetadata> offsets = new LinkedHashMap<>();
        StringBuilder b = new StringBuilder("[");
        for (Map.Entry<Integer, Long> e : new java.util.TreeMap<>(s.positions).entrySet()) {
            offsets.put(new TopicPartition(config.topic, e.getKey()), new OffsetAndMetadata(e.getValue()));
            b.append(b.length() > 1 ? "," : "").append("{\"topic\":").append(Events.str(config.topic))
                    .append(",\"partition\":").append(e.getKey()).append(",\"offset\":").append(e.getValue()).append('}');
        }
        commit.offsetsJson = b.append(']').toString();
        if (offsets.isEmpty()) {
            return;
        }
        try {
            s.producer.sendOffsetsToTransaction(offsets, s.consumer.groupMetadata());
        } catch (RuntimeException e) {
            throw new StepFailed(e);
        }
    }

    private void commit(Session s, String invoke, List<MicroOp> ops, Map<Integer, Long> firstRead) {
        long deadline = System.nanoTime() + commitTimeoutMs * 1_000_000L;
        while (true) {
            try {
                s.producer.commitTransaction();
                break;
            } catch (TimeoutException e) {
                if (System.nanoTime() < deadline) {
                    continue; // retrying commitTransaction resumes the same commit; its outcome is still to come
                }
                unknown(s, invoke, "commit", e, "not-tried");
                return;
            } catch (RuntimeException e) {
                if (abortableOnCommit.contains(e.getClass().getSimpleName())) {
                    abort(s, invoke, firstRead, "commit", e); // the commit was never made: abort it
                } else {
                    unknown(s, invoke, "commit", e, "not-tried"); // fenced or fatal: no abort after an unknown commit
                }
                return;
            }
        }
        events.op(s.process, "ok", "txn", json(s, ops, true));
    }

    private void abort(Session s, String invoke, Map<Integer, Long> firstRead, String stage, Throwable cause) {
        long deadline = System.nanoTime() + commitTimeoutMs * 1_000_000L;
        while (true) {
            try {
                s.producer.abortTransaction();
                break;
            } catch (TimeoutException e) {
                if (System.nanoTime() < deadline) {
                    continue;
                }
                unknown(s, invoke, stage, cause, e.getClass().getName());
                return;
            } catch (RuntimeException e) {
                unknown(s, invoke, stage, cause, e.getClass().getName());
                return;
            }
        }
        events.txnError(s.process, invoke, stage, cause, "ok");
        rewind(s, firstRead);
    }

    private void unknown(Session s, String invoke, String stage, Throwable cause, String abort) {
        events.txnError(s.process, invoke, stage, cause, abort);
        s.open = false;
    }

    /** After an abort the consumer reads again what the aborted transaction read (KAFKA-17582). */
    private void rewind(Session s, Map<Integer, Long> firstRead) {
        try {
            for (Map.Entry<Integer, Long> e : firstRead.entrySet()) {
                s.consumer.seek(new TopicPartition(config.topic, e.getKey()), e.getValue());
                s.positions.put(e.getKey(), e.getValue());
            }
        } catch (RuntimeException e) {
            s.open = false; // a new consumer resumes at the committed offsets instead
        }
    }

    /** The txn op's value: its micro-ops in order; `filled` adds what the completion learnt. */
    private String json(Session s, List<MicroOp> ops, boolean filled) {
        StringBuilder b = new StringBuilder("{\"ops\":[");
        for (int i = 0; i < ops.size(); i++) {
            MicroOp op = ops.get(i);
            b.append(i == 0 ? "" : ",").append("{\"f\":\"").append(op.f).append('"');
            switch (op.f) {
                case "send" -> {
                    b.append(",\"topic\":").append(Events.str(config.topic)).append(",\"value\":").append(op.value)
                            .append(",\"producer\":").append(Events.str(s.name)).append(",\"partition\":")
                            .append(op.partition);
                    if (filled) {
                        b.append(",\"offset\":").append(op.offset);
                    }
                }
                case "poll" -> {
                    if (filled) {
                        b.append(",\"records\":").append(op.recordsJson);
                    }
                }
                default -> {
                    b.append(",\"group\":").append(Events.str(transactionalId));
                    if (filled) {
                        b.append(",\"offsets\":").append(op.offsetsJson == null ? "[]" : op.offsetsJson);
                    }
                }
            }
            b.append('}');
        }
        return b.append("]}").toString();
    }
}
