"""Run a local service in the foreground until SIGINT or SIGTERM; make SIGTERM clean up like Ctrl-C."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

log = logging.getLogger(__name__)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)


def wait_for_stop_signal() -> None:
    """Block until SIGINT or SIGTERM arrives."""
    done = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("Received %s, stopping", signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    done.wait()


def stop_on_sigterm() -> None:
    """Make SIGTERM end the program as Ctrl-C does: raise ``SystemExit`` in the main thread, so every
    ``with`` block (an embedded PostgreSQL, the local DMS, a writer) closes before exit. Later
    SIGTERMs are ignored so that clean-up is not cut short; SIGKILL still ends it at once."""

    def on_sigterm(signum: int, _frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log.info("Received %s, cleaning up", signal.Signals(signum).name)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)
