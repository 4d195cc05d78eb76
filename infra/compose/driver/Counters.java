package org.kafkajepsen.driver;

import java.util.concurrent.atomic.AtomicLong;

/** What the producers did, told in the "bye" line (the bare loop of the benchmark has nothing else). */
final class Counters {
    final AtomicLong invoked = new AtomicLong();
    final AtomicLong acknowledged = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
}
