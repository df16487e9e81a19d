"""The ``neon-dms`` command: one sub-command per module, imported only when it runs.

Each sub-command module provides ``add_arguments(parser)`` and ``run(args) -> int`` (the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: name -> (module, one-line help). Modules are imported lazily so ``--help`` stays fast.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "local-dms": ("airflow_neon_dms.local.server_cli", "run the local DMS emulator in the foreground"),
    "neon-proxy": ("airflow_neon_dms.local.neon_proxy_cli", "run a local Neon proxy stand-in (TLS)"),
    "diff": ("airflow_neon_dms.diff.cli", "compare a source table with its Neon copy, row by row"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neon-dms", description="AWS DMS to Neon migration tools.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, (_module, help_text) in SUBCOMMANDS.items():
        subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neon-dms`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in SUBCOMMANDS:
        build_parser().parse_args(args)  # prints usage and exits 2
        return 2
    name = args[0]
    module = importlib.import_module(SUBCOMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"neon-dms {name}", description=SUBCOMMANDS[name][1])
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(args[1:])))


if __name__ == "__main__":
    raise SystemExit(main())
