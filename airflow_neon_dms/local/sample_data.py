"""A small shop database for the demo and the end-to-end tests, with the awkward types.

Tables in schema ``public``: customers, products, orders (foreign key to customers), order_items
(composite primary key), page_views (no primary key: DMS validation cannot check it) and
audit_log (left out by the demo's table mapping). Rows are generated from a fixed seed, so every
run loads the same data.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

SOURCE_DDL = """
CREATE TABLE customers (
    id serial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    full_name text NOT NULL,
    country char(2),
    created_at timestamptz NOT NULL,
    is_active boolean NOT NULL,
    loyalty_points integer
);
CREATE TABLE products (
    id serial PRIMARY KEY,
    sku uuid NOT NULL UNIQUE,
    name text NOT NULL,
    price numeric(12, 2) NOT NULL,
    attributes jsonb,
    thumbnail bytea,
    discontinued_on date
);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    status text NOT NULL,
    placed_at timestamptz NOT NULL,
    total numeric(14, 2) NOT NULL,
    notes text
);
CREATE TABLE order_items (
    order_id bigint NOT NULL REFERENCES orders (id),
    line_no smallint NOT NULL,
    product_id integer NOT NULL REFERENCES products (id),
    quantity integer NOT NULL,
    unit_price numeric(12, 2) NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE page_views (
    viewed_at timestamptz NOT NULL,
    path text NOT NULL,
    customer_id integer,
    referrer text
);
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    happened_at timestamptz NOT NULL,
    message text NOT NULL
);
"""

#: The Neon side, created before the load as Neon's guide advises: same columns and keys, no
#: foreign keys (DMS loads tables in no fixed order and Neon cannot disable them per session).
TARGET_DDL = """
CREATE TABLE customers (
    id serial PRIMARY KEY,
    email text NOT NULL,
    full_name text NOT NULL,
    country char(2),
    created_at timestamptz NOT NULL,
    is_active boolean NOT NULL,
    loyalty_points integer
);
CREATE TABLE products (
    id serial PRIMARY KEY,
    sku uuid NOT NULL,
    name text NOT NULL,
    price numeric(12, 2) NOT NULL,
    attributes jsonb,
    thumbnail bytea,
    discontinued_on date
);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id integer NOT NULL,
    status text NOT NULL,
    placed_at timestamptz NOT NULL,
    total numeric(14, 2) NOT NULL,
    notes text
);
CREATE TABLE order_items (
    order_id bigint NOT NULL,
    line_no smallint NOT NULL,
    product_id integer NOT NULL,
    quantity integer NOT NULL,
    unit_price numeric(12, 2) NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE page_views (
    viewed_at timestamptz NOT NULL,
    path text NOT NULL,
    customer_id integer,
    referrer text
);
"""

#: Tables the demo's mapping selects (``%`` in public, excluding ``audit_%``).
MIGRATED_TABLES = ("customers", "products", "orders", "order_items", "page_views")

_FIRST = ["Zoë", "Łukasz", "José", "Ngozi", "Søren", "Aiko", "Ana-María", "Chloé", "Darius", "李", "Олег"]
_LAST = [
    "O'Brien",
    "Müller",
    "García",
    "Nakamura",
    "Ødegaard",
    "Smith",
    "Дмитриев",
    "雷",
    "Lefèvre",
    "Kowalski",
]
_COUNTRIES = ["US", "DE", "FR", "JP", "PL", "NG", "DK", "BR", None]
_STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled"]


@dataclass(frozen=True)
class SampleSize:
    """How many rows each table gets."""

    customers: int = 2_000
    products: int = 500
    orders: int = 5_000
    page_views: int = 3_000
    audit_log: int = 1_000


def _rows(size: SampleSize, seed: int) -> dict[str, list[tuple[Any, ...]]]:
    rnd = random.Random(seed)
    epoch = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    customers = []
    for i in range(1, size.customers + 1):
        name = f"{rnd.choice(_FIRST)} {rnd.choice(_LAST)}"
        customers.append(
            (
                i,
                f"customer{i}@example.com",
                name + (" 🛒" if i % 97 == 0 else ""),
                rnd.choice(_COUNTRIES),
                epoch
                + dt.timedelta(seconds=rnd.randrange(0, 60_000_000), microseconds=rnd.randrange(1_000_000)),
                rnd.random() > 0.1,
                None if i % 7 == 0 else rnd.randrange(0, 10_000),
            )
        )
    products = []
    for i in range(1, size.products + 1):
        attrs = (
            None if i % 11 == 0 else {"colour": rnd.choice(["red", "blue", "grün"]), "sizes": [1, 2, i % 5]}
        )
        products.append(
            (
                i,
                uuid.UUID(int=rnd.getrandbits(128), version=4),
                f"Product {i} – {rnd.choice(['mug', 'tee', 'poster', 'Käse'])}",
                Decimal(rnd.randrange(100, 100_000)) / 100,
                json.dumps(attrs) if attrs is not None else None,
                None if i % 5 == 0 else bytes(rnd.getrandbits(8) for _ in range(16 + i % 48)),
                (dt.date(2025, 1, 1) + dt.timedelta(days=i)) if i % 13 == 0 else None,
            )
        )
    orders = []
    items = []
    for i in range(1, size.orders + 1):
        lines = 1 + rnd.randrange(4)
        total = Decimal(0)
        for line in range(1, lines + 1):
            price = Decimal(rnd.randrange(100, 20_000)) / 100
            qty = 1 + rnd.randrange(5)
            total += price * qty
            items.append((i, line, 1 + rnd.randrange(size.products), qty, price))
        orders.append(
            (
                i,
                1 + rnd.randrange(size.customers),
                rnd.choice(_STATUSES),
                epoch + dt.timedelta(seconds=rnd.randrange(0, 60_000_000)),
                total,
                None if i % 3 else f"Bitte klingeln – note {i}\nsecond line",
            )
        )
    views = [
        (
            epoch + dt.timedelta(seconds=rnd.randrange(0, 60_000_000)),
            rnd.choice(["/", "/cart", "/products/42", "/search?q=café"]),
            None if i % 4 == 0 else 1 + rnd.randrange(size.customers),
            None if i % 2 else "https://example.com/ref",
        )
        for i in range(size.page_views)
    ]
    audit = [(i, epoch + dt.timedelta(minutes=i), f"event {i}") for i in range(1, size.audit_log + 1)]
    return {
        "customers": customers,
        "products": products,
        "orders": orders,
        "order_items": items,
        "page_views": views,
        "audit_log": audit,
    }


def create_source(dsn: str, size: SampleSize | None = None, seed: int = 42) -> dict[str, int]:
    """Create the shop schema in ``dsn`` and load it; return the row count of every table."""
    rows = _rows(size or SampleSize(), seed)
    with psycopg.connect(dsn) as conn:
        conn.execute(SOURCE_DDL)
        for table, data in rows.items():
            with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))) as copy:
                for row in data:
                    copy.write_row(row)
        for table, column in (("customers", "id"), ("products", "id"), ("orders", "id"), ("audit_log", "id")):
            conn.execute(
                sql.SQL("SELECT setval(pg_get_serial_sequence(%s, %s), (SELECT max({}) FROM {}))").format(
                    sql.Identifier(column), sql.Identifier(table)
                ),
                (table, column),
            )
    return {table: len(data) for table, data in rows.items()}


def create_target(dsn: str) -> None:
    """Create the Neon side's tables (no foreign keys), empty."""
    with psycopg.connect(dsn) as conn:
        conn.execute(TARGET_DDL)


def main(argv: list[str] | None = None) -> int:
    """Create the demo's source (with rows) and Neon-side tables: used by docker-compose."""
    import argparse

    parser = argparse.ArgumentParser(description="Create the demo shop database and the Neon-side tables.")
    parser.add_argument("--source-dsn", required=True, help="libpq URI of the source database")
    parser.add_argument("--target-dsn", help="libpq URI of the Neon-side database (tables only)")
    args = parser.parse_args(argv)
    if _has_table(args.source_dsn, "customers"):
        print("The source already has the demo tables; nothing to do.")
        return 0
    counts = create_source(args.source_dsn)
    if args.target_dsn and not _has_table(args.target_dsn, "customers"):
        create_target(args.target_dsn)
    print(", ".join(f"{table}: {rows} rows" for table, rows in counts.items()))
    return 0


def _has_table(dsn: str, table: str) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


if __name__ == "__main__":
    raise SystemExit(main())
