"""The `harness` command: one click group, one module per subcommand, one exit path.

Exit codes: 0 valid, 1 anomalies found, 2 the harness could not do its job (bad input, no engine, ...).
User mistakes (HarnessError, click usage errors) print one line on stderr; only bugs show a traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from core.errors import HarnessError

EXIT_VALID = 0
EXIT_ANOMALIES = 1
EXIT_ERROR = 2


# Command name -> the module that defines it (attribute `COMMANDS`). A command's module is imported only when
# that command runs (or help lists them all), so `harness check`, `report` and `runs` never import docker or
# confluent-kafka: the pure commands work where no Kafka client or Docker SDK is installed.
COMMAND_MODULES: dict[str, str] = {
    "run": "run", "nemeses": "run", "scenarios": "run", "check": "check", "up": "up", "down": "up",
    "compose": "up", "clean": "clean", "image": "image", "report": "report", "runs": "report",
    "sweep": "sweep", "drill": "drill", "import": "importer",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module_name = COMMAND_MODULES.get(name)
        if module_name is None:
            return None
        module = importlib.import_module(f"harness.cli.{module_name}")
        return next(command for command in module.COMMANDS if command.name == name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kafka-jepsen")
def cli() -> None:
    """Jepsen-style fault injection against real Apache Kafka clusters."""


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except HarnessError as error:
        click.echo(f"harness: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
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
