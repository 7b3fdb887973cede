"""The parts of the command line every command builds its parser from: the help layout, the output
options, and the arguments of a job request."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from .output import Output

Command = Callable[[argparse.Namespace, Output], int]
if TYPE_CHECKING:  # what ``add_subparsers`` returns (a class private to argparse)
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions kept as written; every option with a meaningful default shows it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and default not in (None, False, [], argparse.SUPPRESS)
            and "default" not in text
        ):
            text += " (default: %(default)s)"
        return text


def _output_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    shown = common.add_argument_group("output")
    shown.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    shown.add_argument("--quiet", "-q", action="store_true", help="print only the essential value")
    return common


def add_command(
    subcommands: Subcommands, name: str, summary: str, run: Command, *, epilog: str | None = None
) -> argparse.ArgumentParser:
    """A command of the program, with the output options every command takes; ``run`` runs it."""
    parser = subcommands.add_parser(
        name,
        help=summary,
        description=summary,
        parents=[_output_options()],
        formatter_class=HelpFormatter,
        epilog=epilog,
    )
    parser.set_defaults(func=run)
    return parser


def add_job_request_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="the face video: a file, an s3:// URI or an https URL")
    parser.add_argument("audio", help="the voice track: a file, an s3:// URI or an https URL")
    parser.add_argument("--mode", choices=["lite", "basic"], default="lite", help="the service mode")
    parser.add_argument(
        "--priority",
        choices=["high", "normal", "low"],
        default="normal",
        help="its place in the line for the service's capacity: higher first, then first come",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a service option (repeatable), e.g. align_audio_reverse=true or templ_start_seconds=1.5",
    )


def options_epilog() -> str:
    """The service options, by mode, for the help of the commands that take them."""
    from lipsync_core.volc.models import OPTION_SPECS

    lines = ["service options (--option KEY=VALUE), by mode:"]
    for name, spec in OPTION_SPECS.items():
        kind = "true/false" if spec.kind is bool else "number"
        modes = ", ".join(sorted(m.value for m in spec.modes))
        lines.append(f"  {name:<22} {kind:<10} {modes:<11} {spec.description}")
    return "\n".join(lines)
