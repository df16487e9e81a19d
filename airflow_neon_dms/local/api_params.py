"""Request parameter functions shared by the emulator's operations: required values, identifiers,
filters and Marker paging, each failing with the AWS fault a real DMS returns."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from airflow_neon_dms.local.faults import InvalidParameterValueException

Params = Mapping[str, Any]
Result = dict[str, Any]
T = TypeVar("T")
Filter = tuple[Callable[[Any], Any], set[str]]

_IDENTIFIER_RE = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)$")
#: MaxRecords bounds of the Describe* calls (DescribeTableStatistics has its own).
DESCRIBE_MAX = (20, 100)


def required(params: Params, name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise InvalidParameterValueException(f"The parameter {name} is required.")
    return value


def check_identifier(name: str, value: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER_RE.match(value):
        raise InvalidParameterValueException(
            f"The parameter {name} is not a valid identifier. Identifiers must begin with a letter "
            "and must contain only ASCII letters, digits, and hyphens. They can't end with a "
            "hyphen or contain two consecutive hyphens."
        )
    return value.lower()


def resource_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return secrets.choice(string.ascii_uppercase) + "".join(secrets.choice(alphabet) for _ in range(25))


def parse_filters(
    params: Params, allowed: Mapping[str, Callable[[Any], Any]], *, lowercase: frozenset[str] = frozenset()
) -> list[Filter]:
    """The request's Filters as (getter, values); names in ``lowercase`` match case-insensitively
    (their getters return lowercase values)."""
    out = []
    for item in params.get("Filters") or []:
        name = item.get("Name")
        if name not in allowed:
            raise InvalidParameterValueException(
                f"The filter {name!r} is not valid here; use one of {', '.join(sorted(allowed))}."
            )
        values = {str(v).lower() if name in lowercase else str(v) for v in item.get("Values") or []}
        out.append((allowed[name], values))
    return out


def apply_filters(items: list[T], filters: list[Filter]) -> list[T]:
    """Items that match every filter; a getter returning a tuple matches when any element does."""

    def matches(item: T, get: Callable[[Any], Any], values: set[str]) -> bool:
        found = get(item)
        return any(str(v) in values for v in (found if isinstance(found, tuple) else (found,)))

    return [item for item in items if all(matches(item, get, values) for get, values in filters)]


def paginate(
    params: Params, items: list[T], limits: tuple[int, int], default: int = 100
) -> tuple[list[T], str | None]:
    max_records = params.get("MaxRecords")
    size = default if max_records is None else int(max_records)
    if max_records is not None and not limits[0] <= size <= limits[1]:
        raise InvalidParameterValueException(
            f"The parameter MaxRecords must be between {limits[0]} and {limits[1]}."
        )
    marker = params.get("Marker")
    try:
        start = int(marker) if marker else 0
    except ValueError:
        raise InvalidParameterValueException(f"The Marker {marker!r} is not valid.") from None
    page = items[start : start + size]
    return page, (str(start + size) if start + size < len(items) else None)


def with_marker(result: Result, marker: str | None) -> Result:
    if marker:
        result["Marker"] = marker
    return result


def snake_case(name: str) -> str:
    """``DescribeEndpoints`` -> ``describe_endpoints``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
