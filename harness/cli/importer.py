"""`harness import verifiable`: turn the stdout of Kafka's VerifiableProducer / VerifiableConsumer into a history
that `harness check` judges. The rules are in docs/recording.md; the converter is harness/importers/verifiable.py.
(`import` is a Python keyword, hence this module's name.)"""

from __future__ import annotations

import click

from core.errors import HarnessError
from harness import console
from harness.importers.verifiable import DrainInput, convert, write_history
from harness.importers.verifiable_tools import read_consumer, read_end_offsets, read_producer

FILE = click.Path(dir_okay=False)

EXAMPLES = """
\b
Example (the tools' stdout, captured while a fault ran; see docs/recording.md):
  harness import verifiable --producer p1.jsonl --producer p2.jsonl --consumer c1.jsonl \\
      --group my-group --drain drain.jsonl --end-offsets end-offsets.txt -o history.jsonl
  harness check history.jsonl
"""


@click.group(name="import")
def import_group() -> None:
    """Convert another client's output into a history (docs/recording.md)."""


@import_group.command(epilog=EXAMPLES)
@click.option("--producer", "producers", multiple=True, type=FILE, required=True,
              help="A VerifiableProducer's stdout (repeatable; give each producer its own --value-prefix).")
@click.option("--consumer", "consumers", multiple=True, type=FILE,
              help="A VerifiableConsumer's stdout, run with --verbose (repeatable).")
@click.option("--group", default="verifiable", show_default=True,
              help="The --group-id the --consumer files' consumers shared.")
@click.option("--reset-policy", type=click.Choice(["earliest", "latest", "none"]), default="earliest",
              show_default=True, help="The consumers' --reset-policy.")
@click.option("--drain", "drain_file", type=FILE,
              help="A VerifiableConsumer of a fresh group, started after the producers finished and the faults "
                   "healed, that read every partition to its end (needs --end-offsets).")
@click.option("--drain-group", help="The drain consumer's --group-id  [default: <group>-drain].")
@click.option("--end-offsets", "end_offsets_file", type=FILE,
              help="GetOffsetShell (kafka-get-offsets.sh) --time -1 output, taken after the faults healed.")
@click.option("-o", "--output", required=True, type=FILE, help="Where to write the history (JSON lines).")
def verifiable(producers: tuple[str, ...], consumers: tuple[str, ...], group: str, reset_policy: str,
               drain_file: str | None, drain_group: str | None, end_offsets_file: str | None, output: str) -> None:
    """Kafka's VerifiableProducer / VerifiableConsumer output -> history.jsonl."""
    if (drain_file is None) != (end_offsets_file is None):
        raise HarnessError("--drain and --end-offsets go together",
                           "a drain is honest only with the end offsets it read up to")
    drain = None
    if drain_file is not None and end_offsets_file is not None:
        drain = DrainInput(read_consumer(drain_file), read_end_offsets(end_offsets_file), end_offsets_file)
    conversion = convert([read_producer(p) for p in producers], [read_consumer(c) for c in consumers], group,
                         reset_policy, drain, drain_group)
    write_history(conversion.events, output)
    summary = conversion.summary
    sends = ", ".join(f"{n} {kind}" for kind, n in summary.sends.items())
    console.say(f"wrote {summary.events} events to {output}: sends {sends}; {summary.polls} polls with "
                f"{summary.records} records; {summary.commits} commits; "
                f"drained: {', '.join(summary.drained) or 'none'}")
    for note in summary.notes:
        console.say(f"[yellow]note:[/yellow] {note}")
    click.echo(output)


COMMANDS = [import_group]
