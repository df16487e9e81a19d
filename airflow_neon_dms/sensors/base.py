"""Shared plumbing of the DMS sensors: AWS connection arguments, the hook, the deferral switch."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from airflow_neon_dms.links.dms import EmptyLinksFirstMixin
from airflow_neon_dms.operators.base import AwsConnectionMixin, default_deferrable
from airflow_neon_dms.operators.fail_fast import FailFastMixin

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger


class NeonDmsBaseSensor(EmptyLinksFirstMixin, FailFastMixin, AwsConnectionMixin, BaseSensorOperator):
    """
    Base of the DMS sensors: the AWS arguments and hook of :class:`AwsConnectionMixin`, the
    ``deferrable`` switch (``[operators] default_deferrable`` when None), and a timeout of a day.
    Like the operators, a subclass's ``execute`` stores empty link values first, and errors no
    retry can fix fail ``execute``, ``poke`` and ``execute_*`` at once (:mod:`.operators.fail_fast`).

    :param deferrable: wait in the triggerer.
    :param poke_interval: seconds between polls (also the trigger's delay).
    :param timeout: seconds before the sensor gives up (also the trigger's deadline).
    """

    #: ``poke_interval`` when the DAG does not set one.
    default_poke_interval: float = 30

    def __init__(self, *, deferrable: bool | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("poke_interval", self.default_poke_interval)
        kwargs.setdefault("timeout", 24 * 3600)
        super().__init__(**kwargs)
        self.deferrable = default_deferrable() if deferrable is None else deferrable

    def trigger_timing(self) -> dict[str, float]:
        """The trigger's ``deadline`` (the sensor's timeout from now) and ``waiter_delay``."""
        return {"deadline": time.time() + float(self.timeout), "waiter_delay": float(self.poke_interval)}

    def poke_or_defer(self, context: Context, trigger: Callable[[], BaseTrigger]) -> None:
        """Poke in the worker; or, deferrable, poke once and defer to ``trigger()`` (which resumes
        in ``execute_complete``) when that poke did not pass."""
        if not self.deferrable:
            BaseSensorOperator.execute(self, context)
            return
        if self.poke(context):
            return
        self.defer(
            trigger=trigger(),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )
