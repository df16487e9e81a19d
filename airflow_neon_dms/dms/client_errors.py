"""Which DMS API errors a retry cannot fix, as the provider's own error classes.

The codes are DMS's documented errors (botocore ``data/dms/2016-01-01/service-2.json``, e.g.
``ResourceNotFoundFault``: "The resource could not be found"; ``InvalidParameterValueException``:
"The action or operation requested isn't valid"; ``InvalidParameterCombinationException``).
Throttling (``ThrottlingException``, ``Throttling``), network errors and HTTP 5xx answers are not
listed: botocore retries them, and a later Airflow try may succeed, so they stay retryable.
"""

from __future__ import annotations

from airflow_neon_dms.exceptions import DmsRequestRefusedError, DmsResourceNotFoundError, NeonDmsError

#: DMS answered that the resource named in the request does not exist.
NOT_FOUND_CODES = frozenset({"ResourceNotFoundFault"})
#: DMS refused a value or a combination of values in the request.
REFUSED_CODES = frozenset({"InvalidParameterValueException", "InvalidParameterCombinationException"})


def not_retryable_error(code: str, message: str, operation: str) -> NeonDmsError | None:
    """The provider error for a DMS error code no retry can fix, or None (keep it retryable)."""
    if code in NOT_FOUND_CODES:
        return DmsResourceNotFoundError(
            f"DMS {operation}: {message} ({code}). The resource no longer exists (deleted, or an ARN "
            "from an older run): trigger a new DAG run, or clear the step that creates it together "
            "with this one."
        )
    if code in REFUSED_CODES:
        return DmsRequestRefusedError(
            f"DMS {operation} refused the request: {message} ({code}). Fix the value it names (a "
            "Param, connection or operator argument), then clear this task or trigger a new run."
        )
    return None
