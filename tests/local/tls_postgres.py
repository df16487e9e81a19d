"""A throwaway PostgreSQL cluster that accepts TLS connections only, like Neon (for proxy tests).

``TlsOnlyPostgres`` runs ``initdb`` and ``pg_ctl`` from the machine's PostgreSQL
(``/usr/lib/postgresql/*/bin`` or PATH) in a temporary directory on a free port, with a
self-signed certificate and a pg_hba.conf of ``hostssl ... trust`` plus ``hostnossl ... reject``.
As root it runs the server as the ``postgres`` system user (PostgreSQL refuses root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from airflow_neon_dms.local.embedded import free_port
from airflow_neon_dms.local.neon_proxy import make_self_signed_cert

HBA = """\
local     all all              trust
hostssl   all all 127.0.0.1/32 trust
hostssl   all all ::1/128      trust
hostnossl all all 0.0.0.0/0    reject
hostnossl all all ::/0         reject
"""


def postgres_bin_dir() -> Path | None:
    """The newest server binaries on this machine (``initdb``, ``pg_ctl``), or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class TlsOnlyPostgres:
    """A PostgreSQL server on 127.0.0.1:``port`` that refuses unencrypted TCP connections."""

    def __init__(self, bin_dir: Path, hba: str = HBA) -> None:
        self.bin_dir = bin_dir
        self.hba = hba
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user = "postgres"
        self._root: Path | None = None
        self._run_as: int | None = None

    def _run(self, name: str, *args: str) -> None:
        kwargs: dict[str, object] = {}
        if self._run_as is not None:
            kwargs["user"] = self._run_as
        result = subprocess.run(
            [str(self.bin_dir / name), *args], capture_output=True, text=True, timeout=120, **kwargs
        )
        if result.returncode != 0:
            raise RuntimeError(f"{name} failed: {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> TlsOnlyPostgres:
        self._root = Path(tempfile.mkdtemp(prefix="neon-dms-tls-pg-"))
        data = self._root / "data"
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            self._run_as = entry.pw_uid
            os.chown(self._root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(data), "-U", self.user, "--auth=trust", "--encoding=UTF8", "--locale=C")
        cert, key = make_self_signed_cert(data, ["localhost"])
        (data / "pg_hba.conf").write_text(self.hba)
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self._root}'\nssl = on\n"
                f"ssl_cert_file = '{cert}'\nssl_key_file = '{key}'\nfsync = off\n"
                "max_connections = 20\nshared_buffers = 16MB\n"
            )
        if self._run_as is not None:
            for path in (cert, key, data / "pg_hba.conf", data / "postgresql.conf"):
                os.chown(path, self._run_as, pwd.getpwuid(self._run_as).pw_gid)
        self._run("pg_ctl", "-D", str(data), "-l", str(self._root / "log"), "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        """Stop the server and remove its files; safe to call twice."""
        if self._root is None:
            return
        data = self._root / "data"
        if (data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None

    def __enter__(self) -> TlsOnlyPostgres:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
