"""Errors no retry can fix fail the task at once, in one place for every operator and sensor.

An error is not retryable when it is one of the provider's errors with ``retryable = False``
(a bad setting, a DMS resource that does not exist) or a DMS ``ClientError`` whose code
:mod:`airflow_neon_dms.dms.client_errors` lists. It is raised again as a subclass of both its
own class and Airflow's ``AirflowFailException`` (``airflow.sdk.exceptions``), which the task
runner fails without retries; ``except DmsResourceError`` still catches it. Throttling, network
errors and 5xx answers pass through unchanged and keep the task's retries.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from airflow.sdk.exceptions import AirflowFailException

from airflow_neon_dms.exceptions import NeonDmsError

F = TypeVar("F", bound=Callable[..., Any])

NOT_RETRIED = "This error is not retried: a retry cannot fix it."
_WRAPPED = "__neon_dms_fail_fast__"


def _fail_fast_class(cls: type[NeonDmsError]) -> type[NeonDmsError]:
    """``cls`` plus AirflowFailException, registered here by name (Airflow serialises an
    exception as ``module.ClassName``)."""
    name = f"FailFast{cls.__name__}"
    made = globals().get(name)
    if made is None:
        made = type(name, (cls, AirflowFailException), {"__module__": __name__, "__doc__": cls.__doc__})
        globals()[name] = made
    return made


def fail_fast_error(err: BaseException) -> BaseException | None:
    """The exception to raise instead of ``err`` so the task fails without retries; None when
    ``err`` may pass a retry (or already fails fast)."""
    if isinstance(err, AirflowFailException):
        return None
    from botocore.exceptions import ClientError

    if isinstance(err, ClientError):
        from airflow_neon_dms.dms.client_errors import not_retryable_error

        error = err.response.get("Error", {})
        translated = not_retryable_error(
            str(error.get("Code", "")), str(error.get("Message", "")), err.operation_name
        )
        if translated is None:
            return None
        err = translated
    if isinstance(err, NeonDmsError) and not err.retryable:
        return _fail_fast_class(type(err))(f"{err} {NOT_RETRIED}")
    return None


@contextmanager
def fail_fast() -> Iterator[None]:
    """Raise errors no retry can fix as AirflowFailException (for ``@task`` functions)."""
    try:
        yield
    except Exception as err:
        fatal = fail_fast_error(err)
        if fatal is None:
            raise
        raise fatal from err


def fails_fast(func: F) -> F:
    """Decorate an ``execute``-like method with :func:`fail_fast`."""
    if getattr(func, _WRAPPED, False):
        return func

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with fail_fast():
            return func(*args, **kwargs)

    setattr(wrapper, _WRAPPED, True)
    return wrapper  # type: ignore[return-value]


class FailFastMixin:
    """Wraps a subclass's ``execute``, ``poke`` and ``execute_*`` resume methods in :func:`fail_fast`.

    ``execute`` and ``poke`` are wrapped where a class defines them (Airflow's own are abstract).
    Resume methods are wrapped wherever they come from, a plain mixin included, so that an error
    after a deferral fails as fast as the same error before it.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if name in ("execute", "poke") and callable(value):
                setattr(cls, name, fails_fast(value))
        for name in dir(cls):
            if not name.startswith("execute_"):
                continue
            value = inspect.getattr_static(cls, name)
            if inspect.isfunction(value) and not getattr(value, _WRAPPED, False):
                setattr(cls, name, fails_fast(value))
