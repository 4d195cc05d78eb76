package org.kafkajepsen.driver;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * One process of producer k, as in workloads/queue.py: one send outstanding at a time, paced so that all
 * producers together send --rate per second, pinned to partition k mod P. With `pipeline` N > 1, N lanes share
 * one KafkaProducer; the invoke and the hand-over to send() happen under one lock, so the invoke order is the
 * order the producer took them. After any completion other than ok the lane takes a fresh process id (after an
 * info it must; after a fail it may, and the lane does not know which the harness will decide).
 */
final class ProducerLane implements Runnable {
    private final Config config;
    private final Events events;
    private final KafkaProducer<byte[], byte[]> producer;
    private final Object handingOver;
    private final int k;
    private final int lane;
    private final AtomicLong values;
    private final CountDownLatch stop;
    final Counters counters;

    ProducerLane(Config config, Events events, KafkaProducer<byte[], byte[]> producer, Object handingOver, int k,
                 int lane, AtomicLong values, CountDownLatch stop, Counters counters) {
        this.config = config;
        this.events = events;
        this.producer = producer;
        this.handingOver = handingOver;
        this.k = k;
        this.lane = lane;
        this.values = values;
        this.stop = stop;
        this.counters = counters;
    }

    @Override
    public void run() {
        String name = "p" + k;
        long period = (long) (config.concurrency * config.pipeline / config.rate * 1e9);
        long nextAt = System.nanoTime() + lane * period / config.pipeline;
        String process = events.newProcess();
        try {
            while (stop.getCount() > 0) {
                nextAt += period;
                if (stop.await(Math.max(0, nextAt - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    break;
                }
                long value = values.getAndIncrement();
                int partition = k % config.partitions;
                String sent = "{\"topic\":" + Events.str(config.topic) + ",\"value\":" + value + ",\"producer\":"
                        + Events.str(name) + ",\"partition\":" + partition;
                if (!sendOne(process, sent, value, partition)) {
                    process = events.newProcess();
                }
                nextAt = Math.max(nextAt, System.nanoTime() - period); // no burst to "catch up" after a stall
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Invoke, send, wait for the callback; true if the send was acknowledged with an offset. */
    private boolean sendOne(String process, String sent, long value, int partition) throws InterruptedException {
        Thread caller = Thread.currentThread();
        CountDownLatch done = new CountDownLatch(1);
        AtomicBoolean completed = new AtomicBoolean(); // exactly one completion per invoke, whoever comes first
        boolean[] ok = {false};
        byte[] payload = Long.toString(value).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(config.topic, partition, null, payload);
        synchronized (handingOver) {
            if (events.recording()) {
                events.op(process, "invoke", "send", sent + "}");
            }
            counters.invoked.incrementAndGet();
            try {
                producer.send(record, (RecordMetadata metadata, Exception error) -> {
                    if (!completed.compareAndSet(false, true)) {
                        return;
                    }
                    // The callback runs on the caller's thread only inside send(): KafkaProducer reports errors
                    // it raises before the record joined a batch that way; otherwise on its I/O thread.
                    ok[0] = complete(process, sent, metadata, error, Thread.currentThread() == caller);
                    done.countDown();
                });
            } catch (RuntimeException error) {
                if (completed.compareAndSet(false, true)) {
                    counters.errors.incrementAndGet();
                    if (events.recording()) {
                        events.error(process, "send", sent + "}", error, true);
                    }
                    done.countDown();
                }
            }
        }
        if (!done.await(config.deliveryReportTimeoutMs, TimeUnit.MILLISECONDS)
                && completed.compareAndSet(false, true)) {
            if (events.recording()) {
                events.info(process, "send", sent + "}", "no-delivery-report");
            }
            return false;
        }
        return ok[0];
    }

    private boolean complete(String process, String sent, RecordMetadata metadata, Exception error,
                             boolean beforeSend) {
        if (error != null) {
            counters.errors.incrementAndGet();
            if (events.recording()) {
                events.error(process, "send", sent + "}", error, beforeSend);
            }
            return false;
        }
        if (metadata == null || !metadata.hasOffset() || metadata.offset() < 0) {
            // Written (acks=0), or written without the broker saying where: the checker cannot place it.
            if (events.recording()) {
                events.info(process, "send", sent + "}", "acknowledged-without-offset");
            }
            return false;
        }
        counters.acknowledged.incrementAndGet();
        if (events.recording()) {
            events.op(process, "ok", "send", sent.substring(0, sent.lastIndexOf(",\"partition\":"))
                    + ",\"partition\":" + metadata.partition() + ",\"offset\":" + metadata.offset() + "}");
        }
        return true;
    }
}
