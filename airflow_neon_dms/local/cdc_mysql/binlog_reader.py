"""Read committed transactions from a MySQL/MariaDB binary log, from a recorded position on.

Built on the ``mysql-replication`` package (``pymysqlreplication``), which speaks the replication
protocol as a replica would. The reader connects with the endpoint's credentials (the user needs
REPLICATION SLAVE and REPLICATION CLIENT, see ``readiness``), starts at a ``BinlogPosition`` and
yields one ``SourceTransaction`` per commit (XID event, or COMMIT for non-transactional engines)
that touched a replicated table, in commit order. DDL arrives as query events: TRUNCATE of a
replicated table becomes a ``Truncate``; other DDL naming one (ALTER, DROP, RENAME, CREATE)
becomes a ``DdlChange``.

    reader = BinlogChangeReader(address, shapes, start=BinlogPosition.parse("binlog.000001:4"))
    for transaction in reader.transactions(stop=stopping.is_set):
        applier.apply(transaction.changes, transaction.end)
    reader.close()
"""

from __future__ import annotations

import datetime
import json
import random
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from airflow_neon_dms.local.cdc.changes import Change, ColumnValue, DdlChange, RowChange, Truncate
from airflow_neon_dms.local.cdc_mysql.changes import SourceTransaction, TableKey
from airflow_neon_dms.local.cdc_mysql.position import BinlogPosition
from airflow_neon_dms.local.databases import DatabaseAddress, mysql_connect_args, mysql_error_text
from airflow_neon_dms.local.mysql_source import mysql_value
from airflow_neon_dms.local.sources import Column, TableShape

#: A heartbeat from the source at least this often while it is idle, so ``stop`` is checked.
HEARTBEAT_SECONDS = 0.5
#: MySQL/MariaDB error raised when the requested binlog file or position is gone (purged).
_ER_MASTER_FATAL_READING_BINLOG = 1236
#: How the decoder marks a None that was an empty SET (pymysqlreplication.constants.NONE_SOURCE).
_EMPTY_SET = "empty set"

_NAME = r"(?:`(?:[^`]|``)+`|[\w$]+)"
_QUALIFIED = rf"(?P<name>{_NAME}(?:\s*\.\s*{_NAME})?)"
_TRUNCATE = re.compile(rf"^\s*TRUNCATE\s+(?:TABLE\s+)?{_QUALIFIED}", re.IGNORECASE)
_OTHER_DDL = re.compile(
    rf"^\s*(?:ALTER|DROP|CREATE|RENAME)\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?{_QUALIFIED}",
    re.IGNORECASE,
)


#: Query events inside a transaction. COMMIT ends one (as XID events do for InnoDB); ROLLBACK is
#: logged only for a transaction that also changed a non-transactional table (MyISAM, Aria) and is
#: read as a transaction that changed nothing.
_INSIDE_TRANSACTION = re.compile(r"^(?:BEGIN|SAVEPOINT|ROLLBACK\s+TO|RELEASE\s+SAVEPOINT)\b", re.IGNORECASE)
_ENDS = re.compile(r"^(?:COMMIT|ROLLBACK)\s*$", re.IGNORECASE)


class BinlogReadError(Exception):
    """The binary log could not be read from the requested position; the message names the fix."""


def _unquote(part: str) -> str:
    part = part.strip()
    return part[1:-1].replace("``", "`") if part.startswith("`") else part


def _split_name(name: str, default_schema: str) -> TableKey:
    parts = re.findall(_NAME, name)
    if len(parts) == 2:
        return (_unquote(parts[0]), _unquote(parts[1]))
    return (default_schema, _unquote(parts[0]))


def ddl_change(statement: str, default_schema: str) -> Truncate | DdlChange | None:
    """The DDL a query event holds, with the table it names (None when it names no table)."""
    truncate = _TRUNCATE.match(statement)
    if truncate:
        return Truncate((_split_name(truncate["name"], default_schema),))
    other = _OTHER_DDL.match(statement)
    if other:
        return DdlChange(*_split_name(other["name"], default_schema), statement)
    return None


def _json_text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {_json_text(k): _json_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_text(v) for v in value]
    return value


def binlog_value(value: Any, column: Column) -> Any:
    """A decoded binlog value in the form PostgreSQL takes (the full load's conversion, shared).

    The binlog gives BIT as a string of 0/1 and MySQL's binary JSON as Python objects; both are
    first turned into what a PyMySQL query returns, then into the target's form.
    """
    if column.source_type == "bit" and isinstance(value, str):
        value = int(value, 2).to_bytes(max(1, (len(value) + 7) // 8), "big")
    elif isinstance(value, (dict, list)):
        value = json.dumps(_json_text(value))
    return mysql_value(value, column)


class BinlogChangeReader:
    """Yields committed transactions on replicated tables from ``start`` on, in commit order."""

    def __init__(
        self,
        address: DatabaseAddress,
        shapes: Mapping[TableKey, TableShape],
        start: BinlogPosition,
        *,
        server_id: int | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.address = address
        self.shapes = dict(shapes)
        #: The end of the last commit read (or ``start``): where a new reader would resume.
        self.position = start
        # A replica's server id must differ from the source's and from every other replica's.
        self.server_id = server_id or random.randint(1_000_000, 4_000_000_000)
        self.heartbeat_seconds = heartbeat_seconds
        self._stream: Any = None

    def _open(self) -> Any:
        from pymysqlreplication import BinLogStreamReader
        from pymysqlreplication.event import HeartbeatLogEvent, QueryEvent, XidEvent
        from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

        settings = {k: v for k, v in mysql_connect_args(self.address).items() if k != "database"}
        return BinLogStreamReader(
            connection_settings=settings,
            server_id=self.server_id,
            log_file=self.position.file,
            log_pos=self.position.pos,
            resume_stream=True,
            blocking=True,
            slave_heartbeat=self.heartbeat_seconds,
            only_schemas=sorted({schema for schema, _ in self.shapes}) or None,
            only_events=[
                WriteRowsEvent,
                UpdateRowsEvent,
                DeleteRowsEvent,
                XidEvent,
                QueryEvent,
                HeartbeatLogEvent,
            ],
            enable_logging=False,
        )

    def transactions(
        self, stop: Callable[[], bool] = lambda: False, until: BinlogPosition | None = None
    ) -> Iterator[SourceTransaction]:
        """Yield transactions until ``stop()`` is true or the reader has passed ``until``.

        ``stop`` is checked after every event and at least every ``heartbeat_seconds``.
        """
        import pymysql
        from pymysqlreplication.event import QueryEvent, XidEvent
        from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

        if self._stream is None:
            self._stream = self._open()
        stream = self._stream
        pending: list[Change] = []
        try:
            while True:
                if stop() or (until is not None and until <= self.position):
                    if pending:
                        # Stopped inside a transaction: read it again, whole, from its start next time.
                        self.close()
                    return
                event = stream.fetchone()
                if event is None:
                    break
                if isinstance(event, (WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent)):
                    pending.extend(self._row_changes(event))
                    continue
                ddl: Truncate | DdlChange | None = None
                if isinstance(event, QueryEvent):
                    statement = _query_text(event.query)
                    if _INSIDE_TRANSACTION.match(statement) or (pending and not _ENDS.match(statement)):
                        continue
                    if statement.upper() == "ROLLBACK":
                        pending = []
                    elif not _ENDS.match(statement):  # DDL and other statements logged on their own
                        ddl = ddl_change(statement, _query_text(event.schema))
                elif not isinstance(event, XidEvent):
                    continue  # a heartbeat: only a chance to look at ``stop``
                self.position = BinlogPosition(stream.log_file, stream.log_pos)
                if ddl is not None and _ddl_table(ddl) in self.shapes:
                    pending.append(ddl)
                if pending:
                    committed_at = datetime.datetime.fromtimestamp(event.timestamp, datetime.timezone.utc)
                    yield SourceTransaction(self.position, committed_at, tuple(pending))
                    pending = []
        except pymysql.err.MySQLError as err:
            self.close()
            raise self._read_error(err) from None

    def _read_error(self, err: Exception) -> BinlogReadError:
        text = mysql_error_text(err, self.address.password)
        if getattr(err, "args", (None,))[0] == _ER_MASTER_FATAL_READING_BINLOG:
            return BinlogReadError(
                f"Cannot read the binary log from {self.position} on {self.address.host}:"
                f"{self.address.port}: {text}. The file was probably purged: raise the binlog "
                "retention (expire_logs_days) and reload the tables."
            )
        return BinlogReadError(f"Binary log read from {self.position} failed: {text}")

    def _row_changes(self, event: Any) -> list[RowChange]:
        from pymysqlreplication.row_event import DeleteRowsEvent, WriteRowsEvent

        key = (event.schema, event.table)
        shape = self.shapes.get(key)
        if shape is None:
            return []
        changes: list[RowChange] = []
        for row in event.rows:
            if isinstance(event, WriteRowsEvent):
                after = self._image(shape, row["values"], row["none_sources"])
                changes.append(RowChange(*key, "INSERT", after))
            elif isinstance(event, DeleteRowsEvent):
                before = self._image(shape, row["values"], row["none_sources"])
                changes.append(RowChange(*key, "DELETE", None, before))
            else:
                before = self._image(shape, row["before_values"], row["before_none_sources"])
                after = self._image(shape, row["after_values"], row["after_none_sources"])
                changes.append(RowChange(*key, "UPDATE", after, before))
        return changes

    def _image(
        self, shape: TableShape, values: Mapping[str, Any], none_sources: Mapping[str, str]
    ) -> tuple[ColumnValue, ...]:
        # Values come in the table's column order; the shape was read from the same table.
        # The decoder gives None for an empty SET too; PyMySQL (the full load) gives ''.
        values = {k: "" if none_sources.get(k) == _EMPTY_SET else v for k, v in values.items()}
        if len(values) != len(shape.columns):
            raise BinlogReadError(
                f"Table {shape.schema}.{shape.table} has {len(values)} columns in the binary log at "
                f"{self.position} but {len(shape.columns)} in the task's table definition: its "
                "structure changed. Reload the table."
            )
        return tuple(
            ColumnValue(c.name, c.pg_type, binlog_value(v, c))
            for v, c in zip(values.values(), shape.columns, strict=True)
        )

    def close(self) -> None:
        """Close the replication connection (a later ``transactions()`` reopens at ``position``)."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def _ddl_table(ddl: Truncate | DdlChange) -> TableKey:
    return ddl.tables[0] if isinstance(ddl, Truncate) else ddl.source_table


def _query_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    return str(value or "").strip()
