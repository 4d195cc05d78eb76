"""The events FIFO's host end (infra/event_pipe.py): everything written before the driver's process ended
arrives, in order, and then the stream ends, whether or not the driver ever opened the FIFO."""

import os
import threading

import pytest

from infra.event_pipe import EventPipe


class Process:
    """Stands in for the driver's exec stream: yields its stdout, and ends when `exit()` is called."""

    def __init__(self, stdout: bytes = b"") -> None:
        self.stdout = stdout
        self.exited = threading.Event()

    def output(self):
        self.exited.wait(10)
        if self.stdout:
            yield self.stdout

    def exit(self) -> None:
        self.exited.set()


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "events.fifo"
    os.mkfifo(path, 0o600)
    return str(path)


def read_all(pipe: EventPipe, process: Process) -> tuple[threading.Thread, list[bytes]]:
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(pipe.chunks(process.output())))
    reader.start()
    return reader, chunks


def test_every_line_written_before_the_process_ended_arrives_in_order(fifo):
    pipe, process = EventPipe(fifo), Process()
    reader, chunks = read_all(pipe, process)
    with open(fifo, "wb", buffering=0) as writer:
        for i in range(20_000):  # ~250 KB: more than a default pipe holds
            writer.write(b'{"n":%d}\n' % i)
    process.exit()  # the writer closed, then the process ended: nothing may be left in the pipe
    reader.join(10)
    assert not reader.is_alive(), "the stream did not end after the process did"
    assert b"".join(chunks).splitlines() == [b'{"n":%d}' % i for i in range(20_000)]
    assert pipe.fd == -1


def test_a_driver_that_never_opened_the_fifo_ends_the_stream_with_its_stdout(fifo):
    pipe, process = EventPipe(fifo), Process(stdout=b'{"type":"fatal","error":"bad driver settings"}\n')
    reader, chunks = read_all(pipe, process)
    process.exit()
    reader.join(10)
    assert not reader.is_alive()
    assert b"".join(chunks) == b'{"type":"fatal","error":"bad driver settings"}\n'


def test_stdout_after_a_cut_off_line_starts_a_line_of_its_own(fifo):
    pipe, process = EventPipe(fifo), Process(stdout=b'{"type":"bye"}\n')
    reader, chunks = read_all(pipe, process)
    with open(fifo, "wb", buffering=0) as writer:
        writer.write(b'{"type":"ok"}\n{"type":"in')  # killed mid-line
    process.exit()
    reader.join(10)
    assert b"".join(chunks).split(b"\n") == [b'{"type":"ok"}', b'{"type":"in', b'{"type":"bye"}', b""]


def test_a_path_that_is_not_a_fifo_is_refused(tmp_path):
    (tmp_path / "plain").write_bytes(b"")
    with pytest.raises(OSError, match="not a FIFO"):
        EventPipe(str(tmp_path / "plain"))
