package org.kafkajepsen.driver;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.AppInfoParser;

/**
 * `java -cp 'libs/*' org.kafkajepsen.driver.Driver driver.properties`: the queue, txn or group workload through
 * the Java kafka-clients producer and consumer, its events on stdout or the events FIFO (see Events).
 *
 * Stopping is SIGTERM: the shutdown hook stops every loop from starting a new op, waits at most
 * stop.timeout.ms for the outstanding ones to complete, writes "bye" and closes the stream. Whatever is still
 * outstanding then stays an invoke without completion (indeterminate), which the history format allows.
 */
public final class Driver {
    private Driver() {
    }

    public static void main(String[] args) throws Exception {
        Events events;
        Config config;
        try {
            config = Config.load(Path.of(args[0]));
        } catch (Exception e) {
            fatal(new Events(true), "bad driver settings: " + e); // on stdout: no events path known yet
            return;
        }
        try {
            events = config.eventsPath.isEmpty() ? new Events(config.recording)
                    : new Events(config.recording, new FileOutputStream(config.eventsPath));
        } catch (IOException e) {
            fatal(new Events(true), "cannot open the events path " + config.eventsPath + ": " + e);
            return;
        }
        events.control("{\"type\":\"hello\",\"client\":\"java\",\"version\":" + Events.str(AppInfoParser.getVersion())
                + ",\"jvm\":" + Events.str(System.getProperty("java.version")) + "}");
        if (!List.of("queue", "txn", "group").contains(config.workload)) {
            fatal(events, "the Java driver runs the queue, txn and group workloads, not " + config.workload);
        }
        CountDownLatch stop = new CountDownLatch(1);
        AtomicLong values = new AtomicLong();
        Counters counters = new Counters();
        List<Thread> threads = new ArrayList<>();
        if (!config.workload.equals("txn")) { // queue and group: queue-style producers
            try {
                for (int k = 0; k < config.concurrency; k++) {
                    Properties props = new Properties();
                    props.putAll(config.producer);
                    props.put("client.id", "java-p" + k);
                    KafkaProducer<byte[], byte[]> producer =
                            new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
                    Object handingOver = new Object();
                    for (int lane = 0; lane < config.pipeline; lane++) {
                        threads.add(new Thread(new ProducerLane(config, events, producer, handingOver, k, lane,
                                values, stop, counters), "producer-" + k + "-" + lane));
                    }
                }
            } catch (RuntimeException e) { // a ConfigException: the settings contradict each other for this client
                fatal(events, "the Java producer refused its settings: " + e.getMessage());
            }
        }
        if (config.workload.equals("txn")) {
            Coordinators.await(config, events);
            for (int k = 0; k < config.concurrency; k++) {
                threads.add(new Thread(new TxnWorker(config, events, k, values, stop), "txn-" + k));
            }
        } else if (config.workload.equals("group")) {
            Coordinators.await(config, events);
            GroupRun group = new GroupRun(config, events, stop);
            for (int k = 0; k < (int) config.integer("group.members"); k++) {
                int slot = k;
                threads.add(new Thread(() -> group.slot(slot), "member-" + k));
            }
            threads.add(new Thread(group::churn, "churn"));
        }
        for (int k = 0; k < config.consumers; k++) {
            threads.add(new Thread(new ConsumerLoop(config, events, k, stop), "consumer-" + k));
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.countDown();
            long deadline = System.nanoTime() + config.stopTimeoutMs * 1_000_000L;
            int running = 0;
            for (Thread t : threads) {
                try {
                    t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000L));
                } catch (InterruptedException e) {
                    break;
                }
                running += t.isAlive() ? 1 : 0;
            }
            events.control("{\"type\":\"bye\",\"invoked\":" + counters.invoked + ",\"acknowledged\":"
                    + counters.acknowledged + ",\"errors\":" + counters.errors + ",\"still_running\":" + running + "}");
            events.close();
        }, "stop"));
        for (Thread t : threads) {
            t.setDaemon(true); // the hook decides how long they may finish; then the JVM goes
            t.start();
        }
        events.control("{\"type\":\"ready\"}");
        stop.await();
        Thread.currentThread().join(); // the hook ends the JVM
    }

    static void fatal(Events events, String message) {
        events.control("{\"type\":\"fatal\",\"error\":" + Events.str(message) + "}");
        events.close();
        Runtime.getRuntime().halt(2);
    }
}
