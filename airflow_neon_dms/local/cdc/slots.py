"""The replication task's logical replication slot on a PostgreSQL source.

A CDC task gets one slot when it starts, named after the task, and loses it when the task is
deleted. The slot is created over a replication connection with ``CREATE_REPLICATION_SLOT ...
LOGICAL test_decoding EXPORT_SNAPSHOT``: PostgreSQL returns the slot's consistent point and the
name of a snapshot that sees exactly the transactions committed before that point. A full load
that reads every table inside that snapshot (``snapshot_transaction``) plus the changes the slot
decodes after the consistent point is the source, with nothing lost and nothing read twice. The
snapshot lives as long as the replication connection stays open and idle, so ``CreatedSlot``
keeps it until ``release()``.

Source prerequisites follow AWS's DMS user guide ("Using a PostgreSQL database as an AWS DMS
source"): ``wal_level = logical`` (``rds.logical_replication = 1`` on Amazon RDS), free
``max_replication_slots`` and ``max_wal_senders``, and a role with the ``REPLICATION`` attribute
(``rds_replication`` on RDS). Each failure raises ``SourceNotReadyError`` naming the setting and
the fix, and leaves no slot behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.local.cdc.errors import SourceNotReadyError
from airflow_neon_dms.local.cdc.lsn import parse_lsn
from airflow_neon_dms.local.databases import DatabaseAddress, connect_postgres

#: PostgreSQL's NAMEDATALEN - 1; slot names are lowercase letters, digits and underscores.
MAX_SLOT_NAME = 63
SLOT_PREFIX = "neon_dms_"
#: The values of the endpoint setting PostgreSQLSettings.PluginName (botocore's PluginNameValue).
PLUGIN_SETTINGS = ("no-preference", "test-decoding", "pglogical")
TEST_DECODING = "test_decoding"
_SLOT_NAME_RE = re.compile(r"^[a-z0-9_]{1,63}$")
#: Seconds ``drop_slot`` waits for the session streaming from a slot to let it go.
DROP_WAIT_SECONDS = 15.0


def slot_name_for_task(task_identifier: str) -> str:
    """A valid, stable slot name for a replication task (``neon_dms_`` + the identifier).

    Characters other than lowercase letters, digits and underscores become ``_``; a name longer
    than 63 characters is cut and ends in a hash of the identifier, so two long identifiers that
    share a prefix still get different slots.
    """
    if not task_identifier:
        raise ValueError("A replication task identifier is needed to name its replication slot")
    cleaned = re.sub(r"[^a-z0-9_]", "_", task_identifier.lower())
    name = SLOT_PREFIX + cleaned
    if len(name) <= MAX_SLOT_NAME:
        return name
    digest = hashlib.sha256(task_identifier.encode()).hexdigest()[:10]
    return f"{name[: MAX_SLOT_NAME - len(digest) - 1]}_{digest}"


def snapshot_slot_name(slot_name: str, number: int = 0) -> str:
    """The name of the temporary slot that exports a snapshot for reloading a task's table.
    ``number`` tells apart the slots of tables reloaded at the same time (a slot name is unique
    per server); 0 gives the plain ``_snapshot`` suffix."""
    suffix = f"_snapshot{number}" if number else "_snapshot"
    return slot_name[: MAX_SLOT_NAME - len(suffix)] + suffix


def is_valid_slot_name(name: str) -> bool:
    return bool(_SLOT_NAME_RE.match(name))


def resolve_plugin(plugin_setting: str | None, *, pglogical_installed: bool) -> str:
    """The output plugin for the slot, from the endpoint setting ``PostgreSQLSettings.PluginName``.

    DMS uses pglogical when the source has it and test_decoding otherwise; the local DMS decodes
    test_decoding only. ``no-preference`` (or no setting) and ``test-decoding`` give test_decoding.
    ``pglogical`` without the extension is the setup error DMS reports; with the extension it is
    rejected too, because the local DMS cannot read pglogical's binary protocol.
    """
    setting = (plugin_setting or "no-preference").strip().lower()
    if setting not in PLUGIN_SETTINGS:
        raise SourceNotReadyError(
            f"PostgreSQLSettings.PluginName {plugin_setting!r} is not one of "
            f"{', '.join(PLUGIN_SETTINGS)}. Set PluginName to test-decoding or no-preference."
        )
    if setting != "pglogical":
        return TEST_DECODING
    if not pglogical_installed:
        raise SourceNotReadyError(
            "PostgreSQLSettings.PluginName is pglogical, but the source database has no pglogical "
            "extension. Install it (shared_preload_libraries = 'pglogical', restart, then CREATE "
            "EXTENSION pglogical) or set PluginName to test-decoding."
        )
    raise SourceNotReadyError(
        "PostgreSQLSettings.PluginName is pglogical; the local DMS decodes changes with "
        "test_decoding only. Set PluginName to test-decoding or no-preference for local runs."
    )


@dataclass(frozen=True)
class SourceReplicationFacts:
    """What the source says about its logical replication setup (read by ``read_facts``)."""

    wal_level: str
    max_replication_slots: int
    used_replication_slots: int
    max_wal_senders: int
    used_wal_senders: int
    role: str
    can_replicate: bool
    pglogical_installed: bool
    slot_exists: bool


def read_facts(conn: psycopg.Connection[Any], slot_name: str) -> SourceReplicationFacts:
    """Read the settings, counts and role attributes slot creation depends on."""
    row = conn.execute(
        "SELECT current_setting('wal_level'), current_setting('max_replication_slots')::int, "
        "(SELECT count(*) FROM pg_replication_slots)::int, current_setting('max_wal_senders')::int, "
        "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')::int, current_user, "
        "(SELECT r.rolsuper OR r.rolreplication FROM pg_roles r WHERE r.rolname = current_user), "
        "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pglogical'), "
        "EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = %s)",
        [slot_name],
    ).fetchone()
    assert row is not None
    return SourceReplicationFacts(
        wal_level=row[0],
        max_replication_slots=row[1],
        used_replication_slots=row[2],
        max_wal_senders=row[3],
        used_wal_senders=row[4],
        role=row[5],
        can_replicate=bool(row[6]),
        pglogical_installed=bool(row[7]),
        slot_exists=bool(row[8]),
    )


def wal_level_message(wal_level: str) -> str:
    return (
        f"The PostgreSQL source has wal_level = {wal_level}; change data capture needs "
        "wal_level = logical. Set wal_level = logical in postgresql.conf (on Amazon RDS and Aurora: "
        "set rds.logical_replication = 1 in the DB parameter group) and restart the server."
    )


def slot_limit_message(limit: int) -> str:
    return (
        f"All {limit} replication slots of the PostgreSQL source are in use (max_replication_slots = "
        f"{limit}); each CDC task needs one. Raise max_replication_slots and restart the server, or "
        "drop unused slots with pg_drop_replication_slot()."
    )


def wal_sender_message(limit: int) -> str:
    return (
        f"All {limit} WAL senders of the PostgreSQL source are in use (max_wal_senders = {limit}); "
        "each CDC task needs one. Raise max_wal_senders and restart the server."
    )


def replication_role_message(role: str) -> str:
    return (
        f"Role {role} may not use replication slots: it has neither the REPLICATION attribute nor "
        f"superuser. Run ALTER ROLE {role} WITH REPLICATION (on Amazon RDS and Aurora: GRANT "
        f"rds_replication TO {role})."
    )


def check_ready(facts: SourceReplicationFacts) -> None:
    """Raise SourceNotReadyError for the first prerequisite the source misses."""
    if facts.wal_level != "logical":
        raise SourceNotReadyError(wal_level_message(facts.wal_level))
    if not facts.can_replicate:
        raise SourceNotReadyError(replication_role_message(facts.role))
    if not facts.slot_exists and facts.used_replication_slots >= facts.max_replication_slots:
        raise SourceNotReadyError(slot_limit_message(facts.max_replication_slots))
    if facts.used_wal_senders >= facts.max_wal_senders:
        raise SourceNotReadyError(wal_sender_message(facts.max_wal_senders))


def _server_error_message(err: psycopg.Error, facts: SourceReplicationFacts) -> str | None:
    """The setting-and-fix message for a server error that races past ``check_ready``."""
    state = err.sqlstate or ""
    text = str(err)
    if state == "53400" or "replication slots are in use" in text:
        return slot_limit_message(facts.max_replication_slots)
    if state == "53300" or "max_wal_senders" in text:
        return wal_sender_message(facts.max_wal_senders)
    if state == "42501":
        return replication_role_message(facts.role)
    if "wal_level" in text:
        return wal_level_message(facts.wal_level)
    return None


@dataclass
class CreatedSlot:
    """A new slot, its consistent point and the snapshot exported at that point.

    ``snapshot_name`` stays importable (``snapshot_transaction``) until ``release()``.
    """

    slot_name: str
    plugin: str
    consistent_lsn: int
    snapshot_name: str
    _connection: psycopg.Connection[Any] | None

    def release(self) -> None:
        """Close the replication connection: the exported snapshot ends, the slot stays."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> CreatedSlot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def create_slot(
    source: DatabaseAddress,
    slot_name: str,
    *,
    plugin_setting: str | None = None,
    temporary: bool = False,
) -> CreatedSlot:
    """Create the task's logical slot with an exported snapshot, after checking the source.

    ``source`` is the source endpoint's database. An existing slot of the same name is an error:
    drop it first (``drop_slot``), as a task that restarts from scratch does. A ``temporary``
    slot ends with ``release()``: it only serves its snapshot and consistent point, to load a
    table again while the task's own slot keeps streaming (``CdcEngine.apply_cached``).
    """
    if not is_valid_slot_name(slot_name):
        raise ValueError(
            f"{slot_name!r} is not a valid replication slot name: use at most {MAX_SLOT_NAME} "
            "lowercase letters, digits and underscores"
        )
    with connect_postgres(source, autocommit=True) as conn:
        facts = read_facts(conn, slot_name)
    check_ready(facts)
    plugin = resolve_plugin(plugin_setting, pglogical_installed=facts.pglogical_installed)
    if facts.slot_exists:
        raise SourceNotReadyError(
            f"A replication slot named {slot_name} already exists on the PostgreSQL source. Drop it "
            f"with SELECT pg_drop_replication_slot('{slot_name}') or start the task with a new name."
        )
    repl = connect_postgres(source, autocommit=True, replication="database")
    try:
        # Replication commands take the simple query protocol only, and no parameters: the slot
        # name was checked against [a-z0-9_] above and the plugin is a constant.
        kind = "TEMPORARY LOGICAL" if temporary else "LOGICAL"
        command = f"CREATE_REPLICATION_SLOT {slot_name} {kind} {plugin} EXPORT_SNAPSHOT"
        result = repl.pgconn.exec_(command.encode())
        if result.status != psycopg.pq.ExecStatus.TUPLES_OK:
            state = result.error_field(psycopg.pq.DiagnosticField.SQLSTATE) or b"XX000"
            error = psycopg.errors.lookup(state.decode())
            message = (result.error_message or b"").decode(errors="replace").strip()
            raise error(message)
        values = [(result.get_value(0, i) or b"").decode() for i in range(result.nfields)]
    except psycopg.Error as err:
        repl.close()
        friendly = _server_error_message(err, facts)
        if friendly:
            raise SourceNotReadyError(friendly) from None
        raise
    fields = dict(
        zip(("slot_name", "consistent_point", "snapshot_name", "output_plugin"), values, strict=False)
    )
    return CreatedSlot(
        slot_name=slot_name,
        plugin=plugin,
        consistent_lsn=parse_lsn(fields["consistent_point"]),
        snapshot_name=fields["snapshot_name"],
        _connection=repl,
    )


def drop_slot(conn: psycopg.Connection[Any], slot_name: str) -> bool:
    """Drop the slot if it exists (deleting a task); True when one was dropped.

    Waits for a session still reading from it to end, so a task thread that is stopping does not
    make the delete fail.
    """
    deadline = time.monotonic() + DROP_WAIT_SECONDS
    while True:
        row = conn.execute(
            "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", [slot_name]
        ).fetchone()
        if row is None:
            return False
        if row[0] is None or time.monotonic() > deadline:
            break
        # A stream still holds it (a walsender ends a moment after its client closes): end it,
        # then wait until it has let the slot go (pg_drop_replication_slot refuses an active one).
        conn.execute("SELECT pg_terminate_backend(%s)", [row[0]])
        time.sleep(0.05)
    conn.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
        [slot_name],
    )
    return True


@contextlib.contextmanager
def snapshot_transaction(conn: psycopg.Connection[Any], snapshot_name: str) -> Iterator[None]:
    """A read-only REPEATABLE READ transaction that sees the slot's exported snapshot.

    Everything read inside it (a table's full load) is the source as of the slot's consistent
    point; the slot's changes continue from there.
    """
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_name)))
        yield
