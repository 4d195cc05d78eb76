package org.kafkajepsen.driver;

import java.time.Duration;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Before "ready", as workloads/txn.py and group.py wait before their clock starts: the transaction coordinator
 * (a probe producer's initTransactions) and the group coordinator (an offset fetch) answer. On a fresh cluster
 * the first lookup creates __transaction_state and __consumer_offsets, which takes tens of seconds on a busy host.
 * A client that refuses its settings here ends the driver with "fatal"; coordinators that never answer do not
 * (the run starts anyway, as the Python workloads do).
 */
final class Coordinators {
    private Coordinators() {
    }

    static void await(Config config, Events events) {
        long deadline = System.nanoTime() + config.integer("ready.timeout.ms") * 1_000_000L;
        if (config.workload.equals("txn")) {
            KafkaProducer<byte[], byte[]> probe = null;
            try {
                probe = TxnWorker.producer(config, config.text("txn.id.prefix") + "-probe");
                while (System.nanoTime() < deadline) {
                    try {
                        probe.initTransactions();
                        break;
                    } catch (org.apache.kafka.common.errors.TimeoutException e) {
                        // initTransactions may be called again after a timeout
                    }
                }
            } catch (ConfigException e) {
                Driver.fatal(events, "the Java transactional producer refused its settings: " + e.getMessage());
            } catch (RuntimeException e) {
                System.err.println("transaction coordinator probe: " + e);
            } finally {
                if (probe != null) {
                    probe.close(Duration.ZERO);
                }
            }
        }
        Properties props = new Properties();
        props.putAll(config.workload.equals("group") ? config.member : config.consumer);
        props.put("group.id", config.workload.equals("group") ? config.text("group.id")
                : config.text("txn.id.prefix") + "-0");
        try (KafkaConsumer<byte[], byte[]> consumer =
                     new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            while (System.nanoTime() < deadline) {
                try {
                    consumer.committed(Set.of(new TopicPartition(config.topic, 0)), Duration.ofSeconds(5));
                    return;
                } catch (org.apache.kafka.common.errors.TimeoutException e) {
                    // the coordinator is not there yet
                }
            }
            System.err.println("group coordinator not ready; starting anyway");
        } catch (ConfigException e) {
            Driver.fatal(events, "the Java consumer refused its settings: " + e.getMessage());
        } catch (RuntimeException e) {
            System.err.println("group coordinator probe: " + e);
        }
    }
}
