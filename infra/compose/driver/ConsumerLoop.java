package org.kafkajepsen.driver;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

/**
 * Consumer k, as in workloads/queue.py: a fresh consumer assigned every partition from the beginning, then
 * poll after poll. A poll that throws is an info; the consumer is closed and a new one, under a new process
 * id, starts over with its own assign.
 */
final class ConsumerLoop implements Runnable {
    private final Config config;
    private final Events events;
    private final int k;
    private final CountDownLatch stop;

    ConsumerLoop(Config config, Events events, int k, CountDownLatch stop) {
        this.config = config;
        this.events = events;
        this.k = k;
        this.stop = stop;
    }

    @Override
    public void run() {
        while (stop.getCount() > 0) {
            Properties props = new Properties();
            props.putAll(config.consumer);
            props.put("group.id", config.groupPrefix + "-c" + k);
            String process = events.newProcess();
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props,
                    new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                    new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
                List<TopicPartition> partitions = new ArrayList<>();
                StringBuilder ids = new StringBuilder();
                for (int p = 0; p < config.partitions; p++) {
                    partitions.add(new TopicPartition(config.topic, p));
                    ids.append(p == 0 ? "" : ",").append(p);
                }
                String assign = "{\"topic\":" + Events.str(config.topic) + ",\"partitions\":[" + ids + "]}";
                events.op(process, "invoke", "assign", assign);
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
                events.op(process, "ok", "assign", assign);
                while (stop.getCount() > 0) {
                    events.op(process, "invoke", "poll", "null");
                    ConsumerRecords<byte[], byte[]> records;
                    try {
                        records = consumer.poll(Duration.ofMillis(config.pollMs));
                    } catch (KafkaException error) {
                        events.info(process, "poll", "null", Events.errorName(error));
                        break;
                    }
                    events.op(process, "ok", "poll", "{\"records\":" + recordsJson(records) + "}");
                }
            } catch (KafkaException error) {
                // construction or close failed: the next round starts over with a new consumer and process
                pause();
            }
        }
    }

    static String recordsJson(ConsumerRecords<byte[], byte[]> records) {
        StringBuilder b = new StringBuilder(64 * records.count() + 2).append('[');
        boolean first = true;
        for (ConsumerRecord<byte[], byte[]> r : records) { // delivery order
            b.append(first ? "" : ",").append("{\"topic\":").append(Events.str(r.topic())).append(",\"partition\":")
                    .append(r.partition()).append(",\"offset\":").append(r.offset()).append(",\"value\":")
                    .append(Events.recordValue(r.value())).append('}');
            first = false;
        }
        return b.append(']').toString();
    }

    private void pause() {
        try {
            stop.await(500, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
