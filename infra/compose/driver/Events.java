package org.kafkajepsen.driver;

import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The driver's only output: one JSON object per line, written and flushed under one lock, so the order of the
 * lines is the order things happened. The harness stamps index and time as lines arrive. The lines go to stdout
 * (a docker exec stream), or to the FIFO named by `events.path`, which a harness on the Docker host reads
 * straight from the container's filesystem (infra/event_pipe.py): no dockerd relay, no frames to decode.
 *
 * Client events are history events without index and time ("process", "type", "f", "value", "error"), except
 * that a client call that threw is written as type "error" with the exception's class and whether it surfaced
 * inside send(): the harness decides fail or info from one table (workloads/outcome.py), next to librdkafka's.
 * Control lines ("hello", "ready", "fatal", "bye") are for the harness and never enter the history.
 *
 * When lines reach the pipe: an invoke and a control line are flushed before the call returns, so a record
 * the client hands to Kafka always has its invoke in the stream even if the driver is then killed. A
 * completion (ok, info, error) waits in the buffer for the next invoke's flush or for the flusher, at most
 * FLUSH_EVERY_MS later: completions lost with a killed driver leave their op indeterminate, which the format
 * allows, and one pipe write per op instead of two is what keeps the recording overhead down (on stdout, every
 * write is a docker exec frame that dockerd relays and the harness decodes; benchmarks/clients.py).
 */
final class Events {
    private final Writer out;
    private final AtomicInteger processes = new AtomicInteger();
    private static final long FLUSH_EVERY_MS = 2;
    private final boolean recording;
    private boolean closed;
    private boolean dirty; // written, not flushed: the flusher's to push out

    /** Lines to stdout. */
    Events(boolean recording) {
        this(recording, new FileOutputStream(FileDescriptor.out));
    }

    /** Lines to `sink` (the events FIFO). */
    Events(boolean recording, OutputStream sink) {
        this.recording = recording;
        this.out = new BufferedWriter(new OutputStreamWriter(sink, StandardCharsets.UTF_8), 1 << 16);
        Thread flusher = new Thread(this::flushCompletions, "events-flusher");
        flusher.setDaemon(true);
        flusher.start();
    }

    /** False for the bare client loop of benchmarks/clients.py: no client event is built or written (control
     * lines still are). */
    boolean recording() {
        return recording;
    }

    /** A fresh process id; the "java-" prefix keeps them apart from the harness's own (integer) processes. */
    String newProcess() {
        return "java-" + processes.getAndIncrement();
    }

    void op(String process, String type, String f, String valueJson) {
        if (!recording) {
            return;
        }
        line("{\"process\":" + str(process) + ",\"type\":\"" + type + "\",\"f\":\"" + f + "\",\"value\":"
                + valueJson + "}", type.equals("invoke"));
    }

    void info(String process, String f, String valueJson, String error) {
        if (!recording) {
            return;
        }
        line("{\"process\":" + str(process) + ",\"type\":\"info\",\"f\":\"" + f + "\",\"value\":" + valueJson
                + ",\"error\":" + str(error) + "}", false);
    }

    void error(String process, String f, String valueJson, Throwable error, boolean beforeSend) {
        if (!recording) {
            return;
        }
        line("{\"process\":" + str(process) + ",\"type\":\"error\",\"f\":\"" + f + "\",\"value\":" + valueJson
                + ",\"exception\":" + str(error.getClass().getName()) + ",\"before_send\":" + beforeSend
                + ",\"message\":" + str(String.valueOf(error.getMessage())) + "}", false);
    }

    /** A `txn` op that did not commit: at which stage it went wrong (`step`, `purpose`, `commit`), the exception
     * behind it (none for an abort on purpose) and what abortTransaction did (`ok`, `not-tried` or the class it
     * threw). The harness decides fail or info from these (workloads/outcome.py's transaction table). */
    void txnError(String process, String valueJson, String stage, Throwable cause, String abort) {
        if (!recording) {
            return;
        }
        line("{\"process\":" + str(process) + ",\"type\":\"error\",\"f\":\"txn\",\"value\":" + valueJson
                + ",\"stage\":\"" + stage + "\",\"exception\":" + (cause == null ? "null" : str(cause.getClass().getName()))
                + ",\"abort\":" + str(abort) + ",\"message\":" + str(cause == null ? "" : String.valueOf(cause))
                + "}", false);
    }

    void control(String json) {
        line(json, true);
    }

    /** After this nothing more is written: what is still outstanding stays an invoke without completion. */
    void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
            try {
                out.flush();
            } catch (IOException ignored) {
                // the harness went away; nothing to tell it
            }
        }
    }

    private void line(String json, boolean flushNow) {
        synchronized (this) {
            if (closed) {
                return;
            }
            try {
                out.write(json);
                out.write('\n');
                if (flushNow) {
                    out.flush();
                    dirty = false;
                } else if (!dirty) {
                    dirty = true;
                    notifyAll();
                }
            } catch (IOException e) {
                closed = true; // the reader is gone: stop writing rather than fail every client thread
            }
        }
    }

    /** The flusher thread: a completion reaches the pipe at most FLUSH_EVERY_MS after it was written. */
    private void flushCompletions() {
        try {
            while (true) {
                synchronized (this) {
                    while (!dirty && !closed) {
                        wait();
                    }
                    if (closed) {
                        return;
                    }
                }
                Thread.sleep(FLUSH_EVERY_MS); // outside the lock: completions and invokes go on meanwhile
                synchronized (this) {
                    if (dirty && !closed) {
                        out.flush();
                        dirty = false;
                    }
                }
            }
        } catch (InterruptedException | IOException e) {
            synchronized (this) {
                closed = true;
            }
        }
    }

    static String str(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /** `NotEnoughReplicasException` -> `not-enough-replicas`: the history's `error`, like the harness names it. */
    static String errorName(Throwable error) {
        String simple = error.getClass().getSimpleName().replaceFirst("Exception$", "");
        return simple.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
    }

    /** A record's value as the history carries it: the integer the workload sent, else its text. */
    static String recordValue(byte[] raw) {
        if (raw == null) {
            return "null";
        }
        String text = new String(raw, StandardCharsets.UTF_8);
        if (!text.isEmpty() && text.length() < 19 && text.chars().allMatch(ch -> ch == '-' || Character.isDigit(ch))) {
            try {
                return Long.toString(Long.parseLong(text));
            } catch (NumberFormatException ignored) {
                // falls through to text
            }
        }
        return str(text);
    }
}
