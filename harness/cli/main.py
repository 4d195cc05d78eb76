"""The `harness` command: one click group, one module per subcommand, one exit path.

Exit codes: 0 valid, 1 anomalies found, 2 the harness could not do its job (bad input, no engine, ...).
User mistakes (HarnessError, click usage errors) print one line on stderr; only bugs show a traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from core.errors import HarnessError, HistoryError

EXIT_VALID = 0
EXIT_ANOMALIES = 1
EXIT_ERROR = 2


# Command name -> the module that defines it (attribute `COMMANDS`). A command's module is imported only when
# that command runs (or help lists them all), so `harness check`, `report` and `runs` never import docker or
# confluent-kafka: the pure commands work where no Kafka client or Docker SDK is installed.
COMMAND_MODULES: dict[str, str] = {
    "run": "run", "nemeses": "run", "scenarios": "run", "check": "check", "up": "up", "down": "up",
    "compose": "up", "clean": "clean", "image": "image", "report": "report", "runs": "report",
    "sweep": "sweep", "explore": "explore", "drill": "drill", "import": "importer", "replay": "replay",
    "shrink": "replay",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMAND_MODULES)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command's whole first sentence, wrapped, where click would cut it at "..." to fit one line."""
        rows = [(name, command.get_short_help_str(limit=1000)) for name in self.list_commands(ctx)
                if (command := self.get_command(ctx, name)) is not None and not command.hidden]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module_name = COMMAND_MODULES.get(name)
        if module_name is None:
            return None
        module = importlib.import_module(f"harness.cli.{module_name}")
        return next(command for command in module.COMMANDS if command.name == name)


EPILOG = """\b
Examples:
  harness run                              the default test: 3 DCs, partition-dc, 60 s
  harness run --nemesis kill,partition-dc --time-limit 120 --seed 7
  harness run --scenario zombie-leader     an incident scenario (`harness scenarios`)
  harness check my-history.jsonl           check a history your own client recorded
  harness report results/latest            report.html, plots and junit.xml of a run
  harness runs                             past runs and their verdicts
  harness up --dcs 2 --brokers-per-dc 2    a cluster left running (`harness down RUN_ID`)

\b
Exit codes:
  0  valid: no anomaly that fails the verdict
  1  anomalies found (the evidence is printed and in results.json)
  2  could not test: bad input, no engine, interrupted, unreadable results;
     always one line on stderr saying what and how to fix it

\b
Docs: README.md and docs/ in the kafka-jepsen source tree (history-format.md,
topologies.md, scenarios.md, reports.md). `harness COMMAND --help` shows a
command's flags and examples.
"""


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(package_name="kafka-jepsen")
def cli() -> None:
    """Jepsen-style fault injection against real Apache Kafka clusters: start a multi-DC cluster, run clients
    while nemeses inject faults, record a history and check it for lost, duplicated or reordered writes."""


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except (HarnessError, HistoryError) as error:  # a user's mistake or an unreadable input file: one line
        click.echo(f"harness: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.NoArgsIsHelpError as error:  # bare `harness`: the help, not an error
        click.echo(error.ctx.get_help())
        sys.exit(EXIT_VALID)
    except click.exceptions.Abort:
        click.echo("harness: interrupted", err=True)
        sys.exit(EXIT_ERROR)
    except click.ClickException as error:
        # Usage mistakes: one line, exit 2 (click's own default would also be 2, kept explicit).
        click.echo(f"harness: error: {error.format_message()}", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_VALID)


if __name__ == "__main__":
    main()
