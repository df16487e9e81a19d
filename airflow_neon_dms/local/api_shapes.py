"""Check a raw DMS JSON response against botocore's model of the operation's output.

botocore's parser ignores unknown keys and accepts loose types, so a client alone cannot tell
whether an answer is one AWS could give. ``response_errors`` is strict: unknown members, missing
required members, wrong JSON types and error codes the operation cannot return are all reported.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
from botocore.model import (
    ListShape,
    MapShape,
    OperationModel,
    OperationNotFoundError,
    Shape,
    StructureShape,
)

#: Errors any AWS JSON service may return besides the ones modelled per operation.
COMMON_ERRORS = frozenset(
    {
        "InvalidParameterValueException",
        "InvalidParameterCombinationException",
        "ValidationException",
        "SerializationException",
        "MissingParameter",
        "UnknownOperationException",
        "InternalFailure",
    }
)

#: Enum values AWS sends that botocore's model leaves out, by shape name. The DMS API reference
#: (API_Event) gives Event.SourceType as "replication-instance | endpoint | replication-task";
#: botocore's SourceType enum lists only the first.
UNMODELLED_ENUM_VALUES = {"SourceType": frozenset({"replication-task", "endpoint"})}

_service_model = None


def dms_operation(name: str) -> OperationModel:
    """botocore's model of one DMS operation."""
    global _service_model
    if _service_model is None:
        _service_model = botocore.session.get_session().get_service_model("dms")
    return _service_model.operation_model(name)


def shape_errors(shape: Shape, value: Any, path: str = "$", *, strict: bool = True) -> list[str]:
    """Every way ``value`` (parsed JSON) differs from ``shape``.

    ``strict=False`` (for requests) allows unknown members, nulls and values outside an enum: the
    operation itself answers those with a message that names the parameter.
    """
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return [f"{path}: expected an object for {shape.name}, got {type(value).__name__}"]
        errors = []
        if strict:
            errors += [f"{path}.{k}: not a member of {shape.name}" for k in value if k not in shape.members]
            errors += [
                f"{path}.{k}: required member of {shape.name} is missing"
                for k in shape.required_members
                if k not in value
            ]
        for key, member in shape.members.items():
            if key in value and value[key] is not None:
                errors += shape_errors(member, value[key], f"{path}.{key}", strict=strict)
            elif key in value and strict:
                errors.append(f"{path}.{key}: null is not a value AWS sends")
        return errors
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [
            e
            for i, item in enumerate(value)
            for e in shape_errors(shape.member, item, f"{path}[{i}]", strict=strict)
        ]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        return [
            e for k, v in value.items() for e in shape_errors(shape.value, v, f"{path}.{k}", strict=strict)
        ]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {type(value).__name__}"]
        enum = [*(getattr(shape, "enum", None) or []), *UNMODELLED_ENUM_VALUES.get(shape.name, ())]
        if strict and enum and value.lower() not in {e.lower() for e in enum}:
            return [f"{path}: {value!r} is not one of {enum}"]
        return []
    if kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected an integer, got {value!r}"]
    if kind in ("double", "float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {value!r}"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
    if kind == "timestamp":
        ok = (isinstance(value, int | float) and not isinstance(value, bool)) or isinstance(value, str)
        return [] if ok else [f"{path}: expected a timestamp, got {value!r}"]
    if kind == "blob":
        return [] if isinstance(value, str) else [f"{path}: expected base64 text, got {value!r}"]
    return []


def request_errors(operation: str, params: dict[str, Any]) -> list[str]:
    """Type errors in a request's parameters (what AWS answers with SerializationException)."""
    try:
        model = dms_operation(operation)
    except OperationNotFoundError:
        return []
    if model.input_shape is None:
        return []
    return shape_errors(model.input_shape, params, strict=False)


def response_errors(operation: str, status: int, body: bytes | str) -> list[str]:
    """Every way a raw HTTP response differs from what DMS may answer to ``operation``."""
    model = dms_operation(operation)
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return [f"{operation}: the body is not JSON: {body[:200]!r}"]
    if status >= 400:
        allowed = {e.name for e in model.error_shapes} | COMMON_ERRORS
        code = str(document.get("__type", "")).rsplit("#", 1)[-1]
        errors = [] if code in allowed else [f"{operation}: error code {code!r} is not one it can return"]
        if not isinstance(document.get("message"), str) or not document["message"]:
            errors.append(f"{operation}: error without a message")
        return errors
    if model.output_shape is None:
        return [] if document == {} else [f"{operation}: expected an empty answer"]
    return shape_errors(model.output_shape, document)


class ResponseShapeError(AssertionError):
    """A DMS answer that AWS could not have given (raised from inside the boto3 call)."""


def check_responses(client: Any, seen: set[str] | None = None) -> Any:
    """Make ``client`` (boto3 'dms') check every raw response with ``response_errors``.

    A mismatch raises ResponseShapeError from the call; ``seen`` collects the checked operations.
    """

    def handler(operation_model: OperationModel, response_dict: dict[str, Any], **_: Any) -> None:
        errors = response_errors(operation_model.name, response_dict["status_code"], response_dict["body"])
        if errors:
            raise ResponseShapeError("; ".join(errors))
        if seen is not None:
            seen.add(operation_model.name)

    client.meta.events.register("before-parse.database-migration-service", handler)
    return client
