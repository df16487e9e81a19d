"""The SQL each engine runs for the diff: bounds, bucket checksums, boundaries and row fetches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import psycopg
from psycopg import sql

from airflow_neon_dms.diff import canonical
from airflow_neon_dms.diff.canonical import ColumnPair
from airflow_neon_dms.diff.ranges import Checksum, Key, KeyRange
from airflow_neon_dms.identifiers import mysql_identifier, mysql_qualified

#: Session settings that fix PostgreSQL's text output of dates, times, floats and bytes.
PG_SESSION_SETTINGS = (
    ("TimeZone", "UTC"),
    ("DateStyle", "ISO, YMD"),
    ("IntervalStyle", "postgres"),
    ("extra_float_digits", "1"),
    ("bytea_output", "hex"),
    # JIT compiling the bucket expressions (up to thousands of comparisons) costs far more than it saves.
    ("jit", "off"),
)


#: An integer key span ``[start, end)``.
Span = tuple[int, int]

#: Rows per round trip when a side streams (hash, count) groups of a keyless table.
STREAM_BATCH = 5000

#: A row hash, how many rows have it, and one such row's values (when asked for).
HashCount = tuple[int, int, Key | None]


class Side(Protocol):
    """One database's half of a table diff."""

    label: str

    def int_bounds(self) -> tuple[int, int] | None: ...

    def int_buckets(self, origin: int, width: int, spans: Sequence[Span]) -> dict[int, Checksum]: ...

    def int_fetch(self, spans: Sequence[Span]) -> list[tuple[Key, int]]: ...

    def range_buckets(self, rng: KeyRange, boundaries: Sequence[Key]) -> dict[int, Checksum]: ...

    def boundaries(self, rng: KeyRange, step: int) -> list[Key]: ...

    def fetch(
        self, rng: KeyRange, *, with_hash: bool = True, limit: int | None = None
    ) -> list[tuple[Key, int]]: ...


class MultisetSide(Protocol):
    """One database's half of a keyless table's diff: the table as a multiset of row hashes.

    Hashes are signed 64-bit integers on every engine, so both sides order them the same way.
    """

    label: str

    def multiset_total(self) -> Checksum: ...

    def hash_buckets(self, mask: int) -> dict[int, Checksum]: ...

    def hash_counts(
        self, mask: int, buckets: Sequence[int] | None, *, with_rows: bool = False
    ) -> Iterator[HashCount]: ...

    def rows_for_hashes(self, hashes: Sequence[int]) -> dict[int, Key]: ...


def _checksums(rows: Sequence[Sequence[Any]]) -> dict[int, Checksum]:
    return {int(b): Checksum(int(c), int(s or 0)) for b, c, s in rows if b is not None and int(c)}


def prepare_postgres_session(conn: psycopg.Connection[Any]) -> None:
    """Fix the session settings the canonical text depends on, then read one snapshot.

    Every later query of the side runs in one REPEATABLE READ, READ ONLY transaction (never
    committed), so the whole walk over a table sees the table as it was at its first query.
    """
    conn.autocommit = True
    for name, value in PG_SESSION_SETTINGS:
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    conn.autocommit = False


class PostgresSide:
    """A table on PostgreSQL or Neon."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        schema: str,
        table: str,
        pairs: list[ColumnPair],
        key: tuple[str, ...],
        *,
        row_hash: canonical.RowHash,
        label: canonical.SideName = "target",
    ) -> None:
        self.conn = conn
        self.label: str = label
        self.side = label
        self.table = sql.Identifier(schema, table)
        by_name = {p.name: p for p in pairs}
        self.key_pairs = [by_name[k] for k in key]
        self.hash = canonical.pg_row_hash(pairs, row_hash, label)
        self.key_order = [canonical.pg_key_order(p, label) for p in self.key_pairs]
        self.key_out = [canonical.pg_key_output(p, label) for p in self.key_pairs]
        self.row_out = [canonical.pg_key_output(p, label) for p in pairs]
        prepare_postgres_session(conn)

    def _rows(self, query: sql.Composed, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def _tuple(self, exprs: Sequence[sql.Composable]) -> sql.Composable:
        inner = sql.SQL(", ").join(exprs)
        return sql.SQL("ROW({})").format(inner) if len(exprs) > 1 else inner

    def _where(self, rng: KeyRange) -> tuple[sql.Composable, list[Any]]:
        parts: list[sql.Composable] = []
        params: list[Any] = []
        key = self._tuple(self.key_order)
        for bound, op in ((rng.lo, ">="), (rng.hi, "<")):
            if bound is not None:
                marks = self._tuple([sql.Placeholder()] * len(bound))
                parts.append(sql.SQL("{} {} {}").format(key, sql.SQL(op), marks))
                params.extend(bound)
        if not parts:
            return sql.SQL("TRUE"), params
        return sql.SQL(" AND ").join(parts), params

    def int_bounds(self) -> tuple[int, int] | None:
        col = sql.Identifier(self.key_pairs[0].name)
        rows = self._rows(sql.SQL("SELECT min({c}), max({c}) FROM {t}").format(c=col, t=self.table))
        lo, hi = rows[0]
        return None if lo is None else (int(lo), int(hi))

    def _spans(self, spans: Sequence[Span]) -> tuple[sql.Composable, list[int]]:
        col = sql.Identifier(self.key_pairs[0].name)
        cond = sql.SQL("({c} >= %s AND {c} < %s)").format(c=col)
        params = [v for span in spans for v in span]
        return sql.SQL(" OR ").join([cond] * len(spans)), params

    def int_buckets(self, origin: int, width: int, spans: Sequence[Span]) -> dict[int, Checksum]:
        col = sql.Identifier(self.key_pairs[0].name)
        key = self.key_pairs[0]
        column = key.column(self.side)
        integer_column = column.data_type in ("smallint", "integer", "bigint")
        if integer_column and max(end for _start, end in spans) - origin < 2**62:
            bucket = sql.SQL("({c} - %s::bigint) / %s::bigint").format(c=col)
        else:
            bucket = sql.SQL("div({c}::numeric - %s::numeric, %s::numeric)").format(c=col)
        where, params = self._spans(spans)
        query = sql.SQL("SELECT {b} AS b, count(*), sum({h}) FROM {t} WHERE {w} GROUP BY 1").format(
            b=bucket, h=self.hash, t=self.table, w=where
        )
        return _checksums(self._rows(query, [origin, width, *params]))

    def int_fetch(self, spans: Sequence[Span]) -> list[tuple[Key, int]]:
        where, params = self._spans(spans)
        query = sql.SQL("SELECT {k}, {h} FROM {t} WHERE {w}").format(
            k=self.key_out[0], h=self.hash, t=self.table, w=where
        )
        return [((int(row[0]),), int(row[1])) for row in self._rows(query, params)]

    def range_buckets(self, rng: KeyRange, boundaries: Sequence[Key]) -> dict[int, Checksum]:
        where, params = self._where(rng)
        key = self._tuple(self.key_order)
        case_params: list[Any] = []

        def tree(lo: int, hi: int) -> sql.Composable:
            # Buckets lo..hi; bucket i holds keys in [boundaries[i-1], boundaries[i]).
            if lo == hi:
                return sql.Literal(lo)
            mid = (lo + hi) // 2
            case_params.extend(boundaries[mid])
            marks = self._tuple([sql.Placeholder()] * len(boundaries[mid]))
            return sql.SQL("CASE WHEN {} < {} THEN {} ELSE {} END").format(
                key, marks, tree(lo, mid), tree(mid + 1, hi)
            )

        bucket = tree(0, len(boundaries))
        query = sql.SQL("SELECT {b} AS b, count(*), sum({h}) FROM {t} WHERE {w} GROUP BY 1").format(
            b=bucket, h=self.hash, t=self.table, w=where
        )
        return _checksums(self._rows(query, [*case_params, *params]))

    def boundaries(self, rng: KeyRange, step: int) -> list[Key]:
        where, params = self._where(rng)
        names = [sql.Identifier(f"k{i}") for i in range(len(self.key_order))]
        aliased = sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(e, n) for e, n in zip(self.key_order, names, strict=True)
        )
        query = sql.SQL(
            "SELECT {names} FROM (SELECT {aliased}, row_number() OVER (ORDER BY {order}) AS rn "
            "FROM {t} WHERE {w}) s WHERE rn %% %s = 0 ORDER BY rn"
        ).format(
            names=sql.SQL(", ").join(names),
            aliased=aliased,
            order=sql.SQL(", ").join(self.key_order),
            t=self.table,
            w=where,
        )
        return [tuple(row) for row in self._rows(query, [*params, step])]

    def fetch(
        self, rng: KeyRange, *, with_hash: bool = True, limit: int | None = None
    ) -> list[tuple[Key, int]]:
        where, params = self._where(rng)
        digest = self.hash if with_hash else sql.Literal(0)
        query = sql.SQL("SELECT {k}, {h} FROM {t} WHERE {w}").format(
            k=sql.SQL(", ").join(self.key_out), h=digest, t=self.table, w=where
        )
        if limit is not None:
            query = sql.SQL("{} ORDER BY {} LIMIT {}").format(
                query, sql.SQL(", ").join(self.key_order), sql.Literal(limit)
            )
        return [(tuple(row[:-1]), int(row[-1])) for row in self._rows(query, params)]

    # --- keyless tables: the whole table as a multiset of row hashes -----------------------------

    def _hashed(self, *extra: sql.Composable) -> sql.Composable:
        """The table as a derived table ``r`` with column ``h`` (the row hash) and ``c0``, ``c1``..."""
        names = [sql.SQL("{} AS {}").format(e, sql.Identifier(f"c{i}")) for i, e in enumerate(extra)]
        cols = sql.SQL(", ").join([sql.SQL("{} AS h").format(self.hash), *names])
        return sql.SQL("(SELECT {} FROM {}) r").format(cols, self.table)

    def multiset_total(self) -> Checksum:
        query = sql.SQL("SELECT count(*), sum({h}) FROM {t}").format(h=self.hash, t=self.table)
        count, total = self._rows(query)[0]
        return Checksum(int(count), int(total or 0))

    def hash_buckets(self, mask: int) -> dict[int, Checksum]:
        query = sql.SQL("SELECT (h & %s::bigint) AS b, count(*), sum(h) FROM {r} GROUP BY 1").format(
            r=self._hashed()
        )
        return _checksums(self._rows(query, [mask]))

    def hash_counts(
        self, mask: int, buckets: Sequence[int] | None, *, with_rows: bool = False
    ) -> Iterator[HashCount]:
        where: sql.Composable = sql.SQL("TRUE")
        params: list[Any] = []
        if buckets is not None:
            where = sql.SQL("(h & %s::bigint) = ANY(%s::bigint[])")
            params = [mask, list(buckets)]
        if with_rows:
            cols = sql.SQL(", ").join(sql.Identifier(f"c{i}") for i in range(len(self.row_out)))
            query = sql.SQL(
                "SELECT DISTINCT ON (h) h, count(*) OVER (PARTITION BY h), {c} FROM {r} WHERE {w} ORDER BY h"
            ).format(c=cols, r=self._hashed(*self.row_out), w=where)
        else:
            query = sql.SQL("SELECT h, count(*) FROM {r} WHERE {w} GROUP BY h ORDER BY h").format(
                r=self._hashed(), w=where
            )
        # A server-side cursor: the groups of a table that differs everywhere never sit in memory.
        with self.conn.cursor(name="neon_dms_hash_counts") as cur:
            cur.execute(query, params)
            while batch := cur.fetchmany(STREAM_BATCH):
                for row in batch:
                    yield int(row[0]), int(row[1]), (tuple(row[2:]) if with_rows else None)

    def rows_for_hashes(self, hashes: Sequence[int]) -> dict[int, Key]:
        if not hashes:
            return {}
        cols = sql.SQL(", ").join(sql.Identifier(f"c{i}") for i in range(len(self.row_out)))
        query = sql.SQL("SELECT DISTINCT ON (h) h, {c} FROM {r} WHERE h = ANY(%s::bigint[])").format(
            c=cols, r=self._hashed(*self.row_out)
        )
        return {int(row[0]): tuple(row[1:]) for row in self._rows(query, [list(hashes)])}


def prepare_mysql_session(conn: Any) -> None:
    """UTC for TIMESTAMP columns, utf8mb4 for text, then one consistent read-only snapshot."""
    conn.autocommit(True)
    with conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'", ())
        cur.execute("SET NAMES utf8mb4", ())
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", ())
        conn.autocommit(False)
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", ())


class MySqlSide:
    """A table on MySQL or MariaDB (always compared in canonical text)."""

    def __init__(
        self,
        conn: Any,
        schema: str,
        table: str,
        pairs: list[ColumnPair],
        key: tuple[str, ...],
        *,
        label: str = "source",
    ) -> None:
        self.conn = conn
        self.label = label
        self.table = mysql_qualified(schema, table)
        by_name = {p.name: p for p in pairs}
        self.key_pairs = [by_name[k] for k in key]
        self.hash = canonical.mysql_row_hash(pairs)
        self.key_order = [canonical.mysql_key_order(p) for p in self.key_pairs]
        self.key_out = [canonical.mysql_key_output(p) for p in self.key_pairs]
        self.row_out = [canonical.mysql_key_output(p) for p in pairs]
        prepare_mysql_session(conn)

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(query, tuple(params))
            return list(cur.fetchall())

    @staticmethod
    def _tuple(exprs: Sequence[str]) -> str:
        return f"({', '.join(exprs)})" if len(exprs) > 1 else exprs[0]

    def _where(self, rng: KeyRange) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        key = self._tuple(self.key_order)
        for bound, op in ((rng.lo, ">="), (rng.hi, "<")):
            if bound is not None:
                parts.append(f"{key} {op} {self._tuple(['%s'] * len(bound))}")
                params.extend(bound)
        return (" AND ".join(parts) or "TRUE"), params

    def int_bounds(self) -> tuple[int, int] | None:
        col = mysql_identifier(self.key_pairs[0].name)
        lo, hi = self._rows(f"SELECT MIN({col}), MAX({col}) FROM {self.table}")[0]  # noqa: S608 - quoted names
        return None if lo is None else (int(lo), int(hi))

    def _spans(self, spans: Sequence[Span]) -> tuple[str, list[int]]:
        col = mysql_identifier(self.key_pairs[0].name)
        params = [v for span in spans for v in span]
        return " OR ".join([f"({col} >= %s AND {col} < %s)"] * len(spans)), params

    def int_buckets(self, origin: int, width: int, spans: Sequence[Span]) -> dict[int, Checksum]:
        col = mysql_identifier(self.key_pairs[0].name)
        where, params = self._spans(spans)
        query = (
            f"SELECT (CAST({col} AS DECIMAL(65, 0)) - %s) DIV %s AS b, COUNT(*), SUM({self.hash}) "  # noqa: S608
            f"FROM {self.table} WHERE {where} GROUP BY b"
        )
        return _checksums(self._rows(query, (origin, width, *params)))

    def int_fetch(self, spans: Sequence[Span]) -> list[tuple[Key, int]]:
        where, params = self._spans(spans)
        query = f"SELECT {self.key_out[0]}, {self.hash} FROM {self.table} WHERE {where}"  # noqa: S608
        return [((row[0],), int(row[1])) for row in self._rows(query, params)]

    def range_buckets(self, rng: KeyRange, boundaries: Sequence[Key]) -> dict[int, Checksum]:
        where, params = self._where(rng)
        key = self._tuple(self.key_order)
        case_params: list[Any] = []

        def tree(lo: int, hi: int) -> str:
            # Buckets lo..hi; bucket i holds keys in [boundaries[i-1], boundaries[i]).
            if lo == hi:
                return str(lo)
            mid = (lo + hi) // 2
            case_params.extend(boundaries[mid])
            marks = self._tuple(["%s"] * len(boundaries[mid]))
            return f"CASE WHEN {key} < {marks} THEN {tree(lo, mid)} ELSE {tree(mid + 1, hi)} END"

        bucket = tree(0, len(boundaries))
        query = f"SELECT {bucket} AS b, COUNT(*), SUM({self.hash}) FROM {self.table} WHERE {where} GROUP BY b"  # noqa: S608
        return _checksums(self._rows(query, [*case_params, *params]))

    def boundaries(self, rng: KeyRange, step: int) -> list[Key]:
        where, params = self._where(rng)
        aliased = ", ".join(f"{e} AS k{i}" for i, e in enumerate(self.key_order))
        names = ", ".join(f"k{i}" for i in range(len(self.key_order)))
        order = ", ".join(self.key_order)
        query = (
            f"SELECT {names} FROM (SELECT {aliased}, ROW_NUMBER() OVER (ORDER BY {order}) "  # noqa: S608
            f"AS rn FROM {self.table} WHERE {where}) s WHERE rn MOD %s = 0 ORDER BY rn"
        )
        return [tuple(row) for row in self._rows(query, [*params, step])]

    def fetch(
        self, rng: KeyRange, *, with_hash: bool = True, limit: int | None = None
    ) -> list[tuple[Key, int]]:
        where, params = self._where(rng)
        digest = self.hash if with_hash else "0"
        query = f"SELECT {', '.join(self.key_out)}, {digest} FROM {self.table} WHERE {where}"  # noqa: S608
        if limit is not None:
            query += f" ORDER BY {', '.join(self.key_order)} LIMIT {int(limit)}"
        return [(tuple(row[:-1]), int(row[-1])) for row in self._rows(query, params)]

    # --- keyless tables: the whole table as a multiset of row hashes -----------------------------

    def _hashed(self, *extra: str) -> str:
        """The table as a derived table ``r`` with column ``h`` (the signed row hash) and ``c0``..."""
        cols = ", ".join(
            [f"CAST({self.hash} AS SIGNED) AS h", *(f"{e} AS c{i}" for i, e in enumerate(extra))]
        )
        return f"(SELECT {cols} FROM {self.table}) r"  # noqa: S608 - quoted names

    def multiset_total(self) -> Checksum:
        count, total = self._rows(f"SELECT COUNT(*), SUM(h) FROM {self._hashed()}")[0]  # noqa: S608
        return Checksum(int(count), int(total or 0))

    def hash_buckets(self, mask: int) -> dict[int, Checksum]:
        query = f"SELECT (h & %s) AS b, COUNT(*), SUM(h) FROM {self._hashed()} GROUP BY b"  # noqa: S608
        return _checksums(self._rows(query, (mask,)))

    def hash_counts(
        self, mask: int, buckets: Sequence[int] | None, *, with_rows: bool = False
    ) -> Iterator[HashCount]:
        from pymysql.cursors import SSCursor

        where, params = "TRUE", []
        if buckets is not None:
            where = f"(h & %s) IN ({', '.join(['%s'] * len(buckets))})" if buckets else "FALSE"
            params = [int(mask), *buckets] if buckets else []
        if with_rows:
            cols = ", ".join(f"c{i}" for i in range(len(self.row_out)))
            query = (
                f"SELECT h, n, {cols} FROM (SELECT r.*, COUNT(*) OVER (PARTITION BY h) AS n, "  # noqa: S608
                f"ROW_NUMBER() OVER (PARTITION BY h) AS rn FROM {self._hashed(*self.row_out)} "
                f"WHERE {where}) s WHERE rn = 1 ORDER BY h"
            )
        else:
            query = f"SELECT h, COUNT(*) FROM {self._hashed()} WHERE {where} GROUP BY h ORDER BY h"  # noqa: S608
        # An unbuffered cursor: the groups of a table that differs everywhere never sit in memory.
        with self.conn.cursor(SSCursor) as cur:
            cur.execute(query, tuple(params))
            while batch := cur.fetchmany(STREAM_BATCH):
                for row in batch:
                    yield int(row[0]), int(row[1]), (tuple(row[2:]) if with_rows else None)

    def rows_for_hashes(self, hashes: Sequence[int]) -> dict[int, Key]:
        if not hashes:
            return {}
        cols = ", ".join(f"c{i}" for i in range(len(self.row_out)))
        marks = ", ".join(["%s"] * len(hashes))
        query = (
            f"SELECT h, {cols} FROM (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY h) AS rn "  # noqa: S608
            f"FROM {self._hashed(*self.row_out)} WHERE h IN ({marks})) s WHERE rn = 1"
        )
        return {int(row[0]): tuple(row[1:]) for row in self._rows(query, hashes)}
