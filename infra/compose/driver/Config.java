package org.kafkajepsen.driver;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/** The driver's settings, one properties file written by the harness; `producer.*` and `consumer.*` keys are
 * handed to the Kafka clients as they are. */
final class Config {
    final String workload;
    final String topic;
    final int partitions;
    final double rate;
    final int concurrency;
    final int pipeline;
    final int consumers;
    final long pollMs;
    final long deliveryReportTimeoutMs;
    final long stopTimeoutMs;
    final String groupPrefix;
    final boolean recording;
    final String eventsPath; // "": events on stdout
    final Properties producer = new Properties();
    final Properties consumer = new Properties();
    final Properties member = new Properties(); // group: the members' consumer settings
    private final Properties all;

    private Config(Properties p) {
        workload = required(p, "workload");
        topic = required(p, "topic");
        partitions = Integer.parseInt(required(p, "partitions"));
        rate = Double.parseDouble(required(p, "rate"));
        concurrency = Integer.parseInt(required(p, "concurrency"));
        pipeline = Integer.parseInt(p.getProperty("pipeline", "1"));
        consumers = Integer.parseInt(required(p, "consumers"));
        pollMs = Long.parseLong(p.getProperty("poll.ms", "500"));
        deliveryReportTimeoutMs = Long.parseLong(required(p, "delivery.report.timeout.ms"));
        stopTimeoutMs = Long.parseLong(required(p, "stop.timeout.ms"));
        groupPrefix = required(p, "group.prefix");
        recording = Boolean.parseBoolean(p.getProperty("recording", "true"));
        eventsPath = p.getProperty("events.path", "");
        all = p;
        for (String key : p.stringPropertyNames()) {
            if (key.startsWith("producer.")) {
                producer.setProperty(key.substring("producer.".length()), p.getProperty(key));
            } else if (key.startsWith("consumer.")) {
                consumer.setProperty(key.substring("consumer.".length()), p.getProperty(key));
            } else if (key.startsWith("member.")) {
                member.setProperty(key.substring("member.".length()), p.getProperty(key));
            }
        }
    }

    static Config load(Path path) throws IOException {
        Properties p = new Properties();
        try (Reader reader = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
            p.load(reader);
        }
        return new Config(p);
    }

    /** A workload's own setting (txn.*, group.*): required, so the harness and the driver never disagree on a
     * default. */
    String text(String key) {
        return required(all, key);
    }

    long integer(String key) {
        return Long.parseLong(required(all, key));
    }

    double number(String key) {
        return Double.parseDouble(required(all, key));
    }

    boolean flag(String key) {
        return Boolean.parseBoolean(required(all, key));
    }

    private static String required(Properties p, String key) {
        String value = p.getProperty(key);
        if (value == null) {
            throw new IllegalArgumentException("missing setting " + key);
        }
        return value;
    }
}
