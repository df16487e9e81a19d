"""The pre-flight's rules one at a time: each is a pure function of the catalog records."""

from __future__ import annotations

from airflow_neon_dms.schema.compare import (
    ColumnMatch,
    extra_target_column,
    missing_key,
    nullability,
    target_identity_always,
    type_problem,
    unmatched_source_column,
)
from airflow_neon_dms.schema.model import ColumnInfo, TableInfo
from airflow_neon_dms.schema.types import TYPE_RULES, TypeShape, compare_types


def _col(name: str, data_type: str = "integer", nullable: bool = True, **kw: object) -> ColumnInfo:
    return ColumnInfo(name, data_type, kw.pop("full_type", data_type), nullable, **kw)  # type: ignore[arg-type]


def _match(source: ColumnInfo, target: ColumnInfo) -> ColumnMatch:
    return ColumnMatch("s.t", source, target, "postgresql", "postgresql")


def test_unmatched_source_column_tells_case_from_missing() -> None:
    target = TableInfo("postgresql", "s", "t", (_col("region"),))
    case = unmatched_source_column("s.t", "s.t", _col("Region"), target)
    assert (case.code, case.column) == ("column_name_case", "Region")
    assert 'RENAME "region" TO "Region"' in case.message
    assert unmatched_source_column("s.t", "s.t", _col("zone"), target).code == "missing_column"


def test_column_rules_answer_none_when_nothing_is_wrong() -> None:
    same = _match(_col("a"), _col("a"))
    assert [rule(same) for rule in (target_identity_always, type_problem, nullability)] == [None, None, None]


def test_identity_always_and_nullability_rules() -> None:
    problem = target_identity_always(_match(_col("id"), _col("id", identity="a")))
    assert problem is not None and problem.code == "target_identity_always"
    strict = nullability(_match(_col("a", nullable=True), _col("a", nullable=False)))
    loose = nullability(_match(_col("a", nullable=False), _col("a", nullable=True)))
    assert strict is not None and strict.severity == "error"
    assert loose is not None and loose.severity == "warning"


def test_type_problem_carries_the_verdict() -> None:
    problem = type_problem(_match(_col("n", "bigint"), _col("n", "smallint")))
    assert problem is not None
    assert (problem.severity, problem.code) == ("error", "type_incompatible")
    assert "integer narrowing: needs 64-bit, target has 16" in problem.message


def test_extra_target_column_and_missing_key() -> None:
    assert extra_target_column("s.t", _col("x", nullable=False)).severity == "error"
    assert extra_target_column("s.t", _col("x", nullable=False, has_default=True)).severity == "warning"
    keyless = TableInfo("postgresql", "s", "t", (_col("a"),))
    keyed = TableInfo("postgresql", "s", "t", (_col("a"),), primary_key=("a",))
    assert missing_key("s.t", "Neon", keyed) is None
    problem = missing_key("s.t", "Neon", keyless)
    assert problem is not None and "on the Neon side" in problem.message


def test_each_type_rule_leaves_unknown_targets_to_the_fallback() -> None:
    for family, rule in TYPE_RULES.items():
        assert rule(TypeShape(family), TypeShape("bytes" if family != "bytes" else "uuid")) is None, family
    assert (
        compare_types(TypeShape("uuid"), TypeShape("bytes")).reason
        == "uuid into bytes is not a compatible conversion"
    )
    assert compare_types(TypeShape("other"), TypeShape("other")).severity == "warning"
