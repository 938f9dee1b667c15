"""The `inkroom` command line.

Each subcommand is a function registered in `COMMANDS`; later parts of the server add
theirs (`serve`, `migrate`, `seed`, `bot`) the same way.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(
    name: str, help: str, configure: Callable[[argparse.ArgumentParser], None] | None = None
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = (help, configure or (lambda _p: None), fn)
        return fn

    return register


@command("version", "print Inkroom's and the scorer's versions")
def _version(_args: argparse.Namespace) -> int:
    from importlib.metadata import version

    from scoring import SCORER_VERSION

    print(f"inkroom {version('inkroom')}, scorer {SCORER_VERSION}")
    return 0


@command("warm-up", "compile (or load from cache) the scoring kernels and report the time")
def _warm_up(_args: argparse.Namespace) -> int:
    from scoring import warm_up
    from scoring._jit import CACHE_DIR

    start = time.perf_counter()
    warm_up()
    print(f"scoring kernels ready in {time.perf_counter() - start:.2f} s (cache: {CACHE_DIR})")
    return 0


def _load_commands() -> None:
    """Import the modules that register more subcommands (they may not exist yet)."""
    import importlib

    for module in ("server.cli_db", "server.cli_serve", "server.cli_bot"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def build_parser() -> argparse.ArgumentParser:
    _load_commands()
    parser = argparse.ArgumentParser(prog="inkroom", description="Inkroom drawing-lesson server")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, _fn) in sorted(COMMANDS.items()):
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command][2](args)


if __name__ == "__main__":
    # Run through the importable module, so subcommands registered by other modules
    # (which import `server.cli`, not `__main__`) are found.
    from server.cli import main as _main

    sys.exit(_main())
