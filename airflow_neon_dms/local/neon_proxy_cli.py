"""``neon-dms neon-proxy``: run a Neon proxy stand-in (TLS, endpoint id rules) in the foreground."""

from __future__ import annotations

import argparse
import logging

from airflow_neon_dms.local.foreground import configure_logging, wait_for_stop_signal
from airflow_neon_dms.local.neon_proxy import BACKEND_SSLMODES, DEFAULT_BACKEND_SSLMODE, NeonProxy

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-id", required=True, help="the Neon endpoint id this proxy serves")
    parser.add_argument(
        "--backend", required=True, metavar="HOST:PORT", help="the PostgreSQL server behind it"
    )
    parser.add_argument(
        "--backend-sslmode",
        choices=BACKEND_SSLMODES,
        default=DEFAULT_BACKEND_SSLMODE,
        help="TLS to the backend, as libpq's sslmode: prefer (TLS when offered; the default), "
        "require (TLS or fail; real Neon), disable (plaintext)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 = a free one)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    host, _, port = args.backend.rpartition(":")
    if not host or not port.isdigit():
        log.error("--backend %r is not HOST:PORT (e.g. 127.0.0.1:5432)", args.backend)
        return 2
    try:
        proxy = NeonProxy(
            args.endpoint_id,
            host,
            int(port),
            listen_host=args.host,
            listen_port=args.port,
            backend_sslmode=args.backend_sslmode,
        )
    except ValueError as err:
        log.error("%s", err)
        return 2
    with proxy:
        print(f"Neon proxy ready: {args.host}:{proxy.port} (endpoint {proxy.endpoint_id})", flush=True)
        wait_for_stop_signal()
    return 0
