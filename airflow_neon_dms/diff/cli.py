"""``neon-dms diff SOURCE_DSN TARGET_DSN --table SCHEMA.TABLE [--key COLUMN ...] [--ignore-column C ...]``.

Prints a JSON summary on stdout; exits 0 when the table is identical, 1 when it differs (rows, or a
column on one side only that is not ignored), 2 when it could not be compared. A DSN may be given
as ``env:NAME`` to read it from an environment variable (keeps passwords out of the process list).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import replace
from typing import Any

from airflow_neon_dms.diff.connect import endpoint_from_dsn
from airflow_neon_dms.diff.engine import DiffOptions, diff_table
from airflow_neon_dms.diff.redact import dsn_password, redact
from airflow_neon_dms.diff.report import parse_table
from airflow_neon_dms.exceptions import NeonDmsError

EXIT_IDENTICAL, EXIT_DIFFERENT, EXIT_ERROR = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source_dsn", metavar="SOURCE_DSN", help="postgresql://... or mysql://... (or env:NAME)"
    )
    parser.add_argument(
        "target_dsn", metavar="TARGET_DSN", help="the Neon database: postgresql://... (or env:NAME)"
    )
    parser.add_argument(
        "--table", required=True, metavar="SCHEMA.TABLE", help="the source table (MySQL: db.table)"
    )
    parser.add_argument(
        "--target-table",
        metavar="SCHEMA.TABLE",
        help="the Neon table when its name differs from the source's",
    )
    parser.add_argument(
        "--key", action="append", default=[], metavar="COLUMN", help="key column (repeat for a composite key)"
    )
    parser.add_argument(
        "--ignore-column",
        action="append",
        default=[],
        metavar="COLUMN",
        help="leave this column out of the comparison on both sides (repeat for more); without it a "
        "column on one side only makes the table differ",
    )
    parser.add_argument(
        "--max-keys", type=int, default=1000, help="most keys listed per category (default 1000)"
    )
    parser.add_argument("--verbose", action="store_true", help="log progress on stderr")


def _dsn(value: str) -> str:
    if value.startswith("env:"):
        name = value[4:]
        found = os.environ.get(name)
        if not found:
            raise NeonDmsError(f"Environment variable {name} is not set; export it with the DSN.")
        return found
    return value


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    label = args.table
    dsns: list[str] = []
    try:
        spec = parse_table(args.table, args.key, args.ignore_column)
        if args.target_table:
            target = parse_table(args.target_table)
            spec = replace(spec, target_schema=target.schema, target_table=target.table)
        dsns = [_dsn(args.source_dsn), _dsn(args.target_dsn)]
        source = endpoint_from_dsn(dsns[0], "source")
        target_endpoint = endpoint_from_dsn(dsns[1], "target")
        result = diff_table(source, target_endpoint, spec, DiffOptions(max_keys=args.max_keys))
    except NeonDmsError as err:
        message = redact(str(err), [dsn_password(d) for d in dsns])
        print(f"neon-dms diff: {message}", file=sys.stderr)
        print(json.dumps({"table": label, "error": message}))
        return EXIT_ERROR
    summary: dict[str, Any] = result.to_dict()
    print(json.dumps(summary, indent=2, default=str))
    return EXIT_IDENTICAL if result.identical else EXIT_DIFFERENT
