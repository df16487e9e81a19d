"""``neon-dms neon-proxy``: run a Neon proxy stand-in (TLS, endpoint id rules) in the foreground."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from airflow_neon_dms.local.neon_proxy import NeonProxy

log = logging.getLogger(__name__)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-id", required=True, help="the Neon endpoint id this proxy serves")
    parser.add_argument(
        "--backend", required=True, metavar="HOST:PORT", help="the PostgreSQL server behind it"
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free one)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    host, _, port = args.backend.rpartition(":")
    if not host or not port.isdigit():
        log.error("--backend %r is not HOST:PORT (e.g. 127.0.0.1:5432)", args.backend)
        return 2
    done = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("Received %s, stopping", signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with NeonProxy(args.endpoint_id, host, int(port), listen_port=args.port) as proxy:
        print(f"Neon proxy ready: 127.0.0.1:{proxy.port} (endpoint {proxy.endpoint_id})", flush=True)
        done.wait()
    return 0
