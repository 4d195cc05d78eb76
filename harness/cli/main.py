"""The `harness` command: one click group, one module per subcommand, one exit path.

Exit codes: 0 valid, 1 anomalies found, 2 the harness could not do its job (bad input, no engine, ...).
User mistakes (HarnessError, click usage errors) print one line on stderr; only bugs show a traceback.
"""

from __future__ import annotations

import sys

import click

from core.errors import HarnessError

EXIT_VALID = 0
EXIT_ANOMALIES = 1
EXIT_ERROR = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kafka-jepsen")
def cli() -> None:
    """Jepsen-style fault injection against real Apache Kafka clusters."""


def _register() -> None:
    # One module per subcommand; each lists its click commands in COMMANDS.
    from harness.cli import check, clean, drill, report, run, sweep, up
    from harness.cli import image as image_cli

    for module in (run, check, up, clean, image_cli, report, sweep, drill):
        for command in module.COMMANDS:
            cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    _register()
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
