package org.kafkajepsen.driver;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The group workload's members and churn, as workloads/group.py: `group.members` slots, each running one member
 * at a time; every churn interval one member (seeded) leaves (commits, closes) or crashes (closes without a
 * commit, recording nothing more), and a new member with a new process id joins in its place. A crash is a fault
 * the driver injects, recorded as one: `start-crash-member` / `stop-crash-member` by process "nemesis". With
 * group.abandon a crashed member's consumer is left as it is (its process died): the crash ends when the group
 * has given up on it. A crash requested while a member processes a batch stops it there (GroupMember.poll).
 */
final class GroupRun {
    private final Config config;
    private final Events events;
    private final CountDownLatch stop;
    private final Map<Integer, String> requests = new HashMap<>(); // slot -> "leave" | "crash"
    private final Map<String, Long> zombies = new LinkedHashMap<>(); // crash fault -> when the group gave up
    private final boolean abandon;
    private final long giveUpNs;

    GroupRun(Config config, Events events, CountDownLatch stop) {
        this.config = config;
        this.events = events;
        this.stop = stop;
        this.abandon = config.flag("group.abandon");
        this.giveUpNs = (config.integer("member.max.poll.interval.ms") + 2000) * 1_000_000L;
    }

    void slot(int k) {
        long interval = config.integer("group.commit.interval.ms") * 1_000_000L;
        while (stop.getCount() > 0) {
            GroupMember member;
            try {
                member = new GroupMember(config, events, protocolOf(k));
                member.subscribe();
            } catch (RuntimeException e) {
                pause();
                continue;
            }
            while (member.alive && stop.getCount() > 0 && !requested(k)) {
                member.poll(500, 200, () -> crashRequested(k));
                if (member.alive && !member.autoCommit && System.nanoTime() - member.lastCommit >= interval) {
                    member.commit(null);
                }
            }
            boolean healthy = member.alive;
            String action;
            synchronized (requests) {
                action = requests.getOrDefault(k, "leave");
                requests.remove(k);
            }
            if (action.equals("crash") && healthy) {
                String fault = crashFault(member.process, member.unprocessed);
                crashRecord("start", fault);
                member.crash(abandon);
                if (abandon) {
                    synchronized (zombies) {
                        zombies.put(fault, System.nanoTime() + giveUpNs);
                    }
                } else {
                    crashRecord("stop", fault);
                }
            } else {
                member.leave();
            }
        }
    }

    private boolean crashRequested(int k) {
        synchronized (requests) {
            return "crash".equals(requests.get(k));
        }
    }

    /** An abandoned member's crash ends when the group has given up on it (max.poll.interval.ms, then 2 s), or
     * at the end of the run. Its consumer is never closed (GroupMember.crash). */
    private void reap(boolean everything) {
        List<String> due = new ArrayList<>();
        synchronized (zombies) {
            long now = System.nanoTime();
            zombies.entrySet().removeIf(e -> {
                boolean gone = everything || e.getValue() <= now;
                if (gone) {
                    due.add(e.getKey());
                }
                return gone;
            });
        }
        for (String fault : due) {
            crashRecord("stop", fault);
        }
    }

    /** As GroupOptions.protocol_of: a mixed group's even slots on the consumer protocol, odd ones classic. */
    private String protocolOf(int k) {
        String protocol = config.text("group.protocol");
        if (!protocol.equals("mixed")) {
            return protocol;
        }
        return k % 2 == 0 ? "consumer" : "classic";
    }

    void churn() {
        Random rng = new Random(config.integer("group.seed"));
        int members = (int) config.integer("group.members");
        double crash = config.number("group.crash.probability");
        try {
            while (!stop.await(config.integer("group.churn.interval.ms"), TimeUnit.MILLISECONDS)) {
                int slot = rng.nextInt(members);
                String action = rng.nextDouble() < crash ? "crash" : "leave";
                synchronized (requests) {
                    requests.putIfAbsent(slot, action); // a member stuck in a slow commit keeps its first request
                }
                reap(false);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        reap(true);
    }

    private boolean requested(int k) {
        synchronized (requests) {
            return requests.containsKey(k);
        }
    }

    /** The crash fault's value, the same on its start and stop; `unprocessed`: records of the batch the crash
     * stopped mid-processing (0: it came between batches). */
    private String crashFault(String process, int unprocessed) {
        return "{\"nemesis\":\"crash-member\",\"fault\":" + Events.str("crash-member-" + process)
                + ",\"targets\":[" + Events.str(process) + "],\"group\":" + Events.str(config.text("group.id"))
                + ",\"abandoned\":" + abandon + ",\"unprocessed\":" + unprocessed + "}";
    }

    private void crashRecord(String phase, String value) {
        String f = phase + "-crash-member";
        events.op("nemesis", "invoke", f, value);
        events.op("nemesis", "info", f, value);
    }

    private void pause() {
        try {
            stop.await(500, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
