package org.kafkajepsen.driver;

import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * How an auto-committing member learns what its client committed: the Java consumer tells the application
 * nothing of an auto-commit except through a ConsumerInterceptor's onCommit, called once the commit succeeded.
 * The client creates the interceptor itself (interceptor.classes) and hands it the consumer's settings, so the
 * member's process id comes as the setting `harness.member.process`, and the offsets go to that member's queue.
 *
 * onCommit may run on a thread of the client's own (the classic consumer's heartbeat thread), so it only queues;
 * the member records what is queued on its own thread, between consumer calls (GroupMember.recordAutoCommits).
 */
public final class CommitRecorder implements ConsumerInterceptor<byte[], byte[]> {
    static final String PROCESS_SETTING = "harness.member.process";
    private static final Map<String, Queue<Map<TopicPartition, OffsetAndMetadata>>> QUEUES =
            new ConcurrentHashMap<>();
    private Queue<Map<TopicPartition, OffsetAndMetadata>> queue;

    /** The queue a member reads its client's commits from; made before the client exists. */
    static Queue<Map<TopicPartition, OffsetAndMetadata>> queueOf(String process) {
        return QUEUES.computeIfAbsent(process, p -> new ConcurrentLinkedQueue<>());
    }

    @Override
    public void configure(Map<String, ?> configs) {
        Object process = configs.get(PROCESS_SETTING);
        queue = process == null ? null : queueOf(process.toString());
    }

    @Override
    public ConsumerRecords<byte[], byte[]> onConsume(ConsumerRecords<byte[], byte[]> records) {
        return records;
    }

    @Override
    public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
        if (queue != null && !offsets.isEmpty()) {
            queue.add(Map.copyOf(offsets));
        }
    }

    @Override
    public void close() {
    }
}
