"""``neon-dms local-dms``: run the local DMS emulator in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from airflow_neon_dms.local.server import LocalDms, NeonTarget

log = logging.getLogger(__name__)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (0 = a free one)")
    parser.add_argument(
        "--neon",
        action="append",
        default=[],
        metavar="ENDPOINT_ID@HOST:PORT",
        help="treat the PostgreSQL server at HOST:PORT as Neon endpoint ENDPOINT_ID (repeatable)",
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    logging.getLogger("werkzeug").setLevel(args.log_level.upper())
    try:
        targets = [NeonTarget.parse(text) for text in args.neon]
    except ValueError as err:
        log.error("%s", err)
        return 2
    done = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("Received %s, stopping", signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with LocalDms(port=args.port, neon=targets) as dms:
        for target, proxy in zip(targets, dms.proxies, strict=True):
            log.info(
                "Neon endpoint %s: %s:%s is served through the proxy on 127.0.0.1:%s",
                target.endpoint_id,
                target.host,
                target.port,
                proxy.port,
            )
        print(f"Local DMS ready: endpoint_url={dms.endpoint_url}", flush=True)
        done.wait()
    log.info("Local DMS stopped")
    return 0
