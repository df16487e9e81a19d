"""DMS Serverless: create a replication config, start and wait for its replication, stop, delete.

The validation report and the selective reload of a serverless replication are the instance
path's operators given ``replication_config_arn`` (see operators/validation.py and reload.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context

from airflow_neon_dms.exceptions import (
    DmsResourceError,
    NeonConfigError,
    PremigrationAssessmentError,
    PremigrationAssessmentFailedError,
)
from airflow_neon_dms.operators.base import (
    AWS_TEMPLATE_FIELDS,
    NeonDmsBaseOperator,
    WaitMixin,
    dag_run_started,
)
from airflow_neon_dms.operators.run_wait import RunWaitMixin

if TYPE_CHECKING:
    from airflow.triggers.base import BaseTrigger

    from airflow_neon_dms.dms.states import StartType, TaskOutcome

START_REPLICATION = "start-replication"


class NeonDmsCreateReplicationConfigOperator(NeonDmsBaseOperator):
    """
    Create a DMS Serverless replication config, or reuse the one with this identifier.

    The capacity (``max_capacity_units``, ``min_capacity_units``: AWS's DCU values 1, 2, 4, 8,
    16, 32, 64, 128, 192, 256, 384) and the absence of a replication instance are checked before
    any AWS call, so bad input leaves nothing behind. An existing config whose settings differ is
    modified while DMS allows it (never started, or failed); otherwise the error names the fix.
    Returns the config ARN.

    :param replication_config_identifier: the config's name.
    :param source_endpoint_arn: source endpoint.
    :param target_endpoint_arn: target (Neon) endpoint.
    :param table_mappings: the table mappings (JSON text or a dict).
    :param replication_type: full-load, cdc or full-load-and-cdc.
    :param max_capacity_units: the most DCUs DMS may provision (required here or in
        ``compute_config``).
    :param min_capacity_units: the fewest DCUs (DMS's default when None).
    :param replication_settings: task settings (ReplicationSettings; JSON text or a dict).
    :param supplemental_settings: SupplementalSettings (JSON text or a dict).
    :param compute_config: ComputeConfig members (MaxCapacityUnits, MinCapacityUnits, MultiAZ,
        ReplicationSubnetGroupId, VpcSecurityGroupIds, ...); the capacity arguments win.
    :param replication_instance_arn: must stay empty: a serverless run has no instance. Given to
        catch a DAG that passes one by mistake.
    :param tags: tags of the config.
    """

    template_fields: Sequence[str] = (
        *AWS_TEMPLATE_FIELDS,
        "replication_config_identifier",
        "source_endpoint_arn",
        "target_endpoint_arn",
        "table_mappings",
        "replication_type",
        "max_capacity_units",
        "min_capacity_units",
        "replication_settings",
        "compute_config",
        "replication_instance_arn",
    )
    template_fields_renderers = {"table_mappings": "json", "replication_settings": "json"}

    def __init__(
        self,
        *,
        replication_config_identifier: str,
        source_endpoint_arn: str,
        target_endpoint_arn: str,
        table_mappings: Mapping[str, Any] | str,
        replication_type: str = "full-load",
        max_capacity_units: int | str | None = None,
        min_capacity_units: int | str | None = None,
        replication_settings: Mapping[str, Any] | str | None = None,
        supplemental_settings: Mapping[str, Any] | str | None = None,
        compute_config: Mapping[str, Any] | None = None,
        replication_instance_arn: str | None = None,
        tags: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_config_identifier = replication_config_identifier
        self.source_endpoint_arn = source_endpoint_arn
        self.target_endpoint_arn = target_endpoint_arn
        self.table_mappings = table_mappings
        self.replication_type = replication_type
        self.max_capacity_units = max_capacity_units
        self.min_capacity_units = min_capacity_units
        self.replication_settings = replication_settings
        self.supplemental_settings = supplemental_settings
        self.compute_config = compute_config or {}
        self.replication_instance_arn = replication_instance_arn
        self.tags = dict(tags or {})

    def checked_compute_config(self) -> dict[str, Any]:
        """The ComputeConfig to send; raise NeonConfigError naming the fix before any AWS call."""
        from airflow_neon_dms.dms.replication_states import COMPUTE_SERVERLESS, compute_choice, compute_config

        try:
            compute_choice(COMPUTE_SERVERLESS, self.replication_instance_arn)
            given = dict(self.compute_config)
            capacity = compute_config(
                given.get("MaxCapacityUnits") if self.max_capacity_units is None else self.max_capacity_units,
                given.get("MinCapacityUnits") if self.min_capacity_units is None else self.min_capacity_units,
            )
        except ValueError as err:
            raise NeonConfigError(f"Replication config {self.replication_config_identifier}: {err}") from None
        if self.replication_type not in ("full-load", "cdc", "full-load-and-cdc"):
            raise NeonConfigError(
                f"Replication config {self.replication_config_identifier}: replication_type "
                f"{self.replication_type!r} is not one of full-load, cdc, full-load-and-cdc."
            )
        return {**given, **capacity}

    def execute(self, context: Context) -> str:
        compute = self.checked_compute_config()
        arn, action = self.hook.ensure_replication_config(
            self.replication_config_identifier,
            source_endpoint_arn=self.source_endpoint_arn,
            target_endpoint_arn=self.target_endpoint_arn,
            compute_config=compute,
            replication_type=self.replication_type,
            table_mappings=_json_text(self.table_mappings) or "{}",
            replication_settings=_json_text(self.replication_settings),
            supplemental_settings=_json_text(self.supplemental_settings),
            tags=self.tags,
        )
        self.log.info("Replication config %s: %s (%s)", self.replication_config_identifier, action, arn)
        return arn


class NeonDmsStartReplicationOperator(RunWaitMixin, NeonDmsBaseOperator):
    """
    Start a DMS Serverless replication and wait for its run to finish.

    The start type follows the replication's history (a first run is start-replication; a later
    start-replication becomes reload-target for full load, resume-processing with CDC). A
    replication already provisioning or running, or started since this DAG run began, is only
    waited for, so a retry never starts a second run. Success: ``stopped`` with a stop reason that
    means success for the replication type, or a CDC replication ``running`` with its full load
    complete. Failure: ``failed``, an error stop reason, or any Status/ProvisionState the provider
    does not model (fail closed). The provisioning phase is waited for in the triggerer when
    ``deferrable``. Returns a summary of the replication.

    With ``premigration_assessment_settings`` DMS runs its premigration assessment before the
    replication (results in its system-managed S3 bucket). Once the replication has an outcome,
    the newest of its PremigrationAssessmentStatuses is judged as the instance path's
    NeonDmsPremigrationAssessmentOperator judges a run (same table in the log, same verdict): a
    ``failed`` assessment fails the task unless ``FailOnAssessmentFailure`` is false (then DMS
    starts the replication anyway and the task only warns); a run DMS could not finish, a missing
    status or one the provider does not model fails it. The summary then carries
    ``premigration_assessment``.

    :param replication_config_arn: the replication config.
    :param start_type: start-replication, resume-processing or reload-target.
    :param wait_for_completion: False returns right after the start.
    :param wait_for_cdc_stop: with CDC, wait until the replication stops instead of until CDC begins.
    :param premigration_assessment_settings: StartReplication's PremigrationAssessmentSettings (a
        dict or JSON text: ResultLocationFolder, ResultEncryptionMode, ResultKmsKeyArn, IncludeOnly,
        Exclude, FailOnAssessmentFailure); checked before the start. No service role or bucket:
        DMS Serverless does not take them.
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param waiter_delay: seconds between polls.
    :param max_wait: seconds before the wait gives up (an absolute deadline, kept across deferral).
    """

    template_fields: Sequence[str] = (
        *AWS_TEMPLATE_FIELDS,
        "replication_config_arn",
        "start_type",
        "premigration_assessment_settings",
    )
    template_fields_renderers = {"premigration_assessment_settings": "json"}

    def __init__(
        self,
        *,
        replication_config_arn: str,
        start_type: StartType | str = START_REPLICATION,
        wait_for_completion: bool = True,
        wait_for_cdc_stop: bool = False,
        premigration_assessment_settings: Mapping[str, Any] | str | None = None,
        deferrable: bool | None = None,
        waiter_delay: float = 30,
        max_wait: float = 24 * 3600,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_config_arn = replication_config_arn
        self.start_type = start_type.value if isinstance(start_type, Enum) else start_type
        self.wait_for_completion = wait_for_completion
        self.wait_for_cdc_stop = wait_for_cdc_stop
        self.premigration_assessment_settings = premigration_assessment_settings
        self._init_wait(deferrable=deferrable, waiter_delay=waiter_delay, max_wait=max_wait)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_neon_dms.dms.states import StartType

        try:
            start_type = StartType(self.start_type)
        except ValueError:
            raise NeonConfigError(
                f"start_type {self.start_type!r} is not one of {', '.join(s.value for s in StartType)}."
            ) from None
        run_started = dag_run_started(context)
        call_time = datetime.now(timezone.utc)
        extra = {}
        settings = self._assessment_settings()
        if settings is not None:
            extra["PremigrationAssessmentSettings"] = json.dumps(settings, sort_keys=True)
        started, replication = self.hook.start_replication_run(
            self.replication_config_arn,
            start_type,
            started_since=run_started,
            extra=extra,
            settle_delay=min(self.waiter_delay, 10),
        )
        if not self.wait_for_completion:
            return {**replication_summary(replication), "started": started}
        started_after = (run_started or call_time) if started else None
        return self.wait_for_run(replication, started=started, started_after=started_after)

    # -- what RunWaitMixin asks of a serverless replication -------------------------------------

    run_kind = "Replication"
    failure_hint = (
        "Check the replication in the DMS console (Serverless replications) and its CloudWatch log."
    )

    def run_name(self, run: Mapping[str, Any] | None = None) -> str:
        return self.replication_config_arn

    def read_run(self) -> dict[str, Any]:
        return self.hook.require_replication(self.replication_config_arn)

    def judge_run(self, run: Mapping[str, Any], started_after: datetime | None) -> TaskOutcome:
        from airflow_neon_dms.dms.replication_states import classify_replication

        return classify_replication(
            run, wait_for_cdc_stop=self.wait_for_cdc_stop, started_after=started_after
        )

    def run_trigger(self, started_after: datetime | None, deadline: float) -> BaseTrigger:
        from airflow_neon_dms.triggers.replication import NeonDmsReplicationTrigger

        return NeonDmsReplicationTrigger(
            replication_config_arn=self.replication_config_arn,
            wait_for_cdc_stop=self.wait_for_cdc_stop,
            started_after=started_after.timestamp() if started_after else None,
            deadline=deadline,
            waiter_delay=self.waiter_delay,
            **self.aws_kwargs,
        )

    def run_summary(self, run: Mapping[str, Any]) -> dict[str, Any]:
        return replication_summary(run)

    # -- the premigration assessment DMS runs before the replication --------------------------

    def _assessment_settings(self) -> dict[str, Any] | None:
        from airflow_neon_dms.dms.assessments import checked_premigration_settings

        return checked_premigration_settings(self.premigration_assessment_settings)

    def finish_run(self, verdict: TaskOutcome, run: dict[str, Any], started: bool) -> dict[str, Any]:
        """Judge the premigration assessment first (it explains a replication it kept from
        starting), then the replication."""
        from airflow_neon_dms.dms.states import Outcome

        settings = self._assessment_settings()
        if settings is None or verdict.outcome == Outcome.WAITING:
            return super().finish_run(verdict, run, started)
        assessment = self.judge_premigration(run, fail_on_failed=settings["FailOnAssessmentFailure"])
        return {**super().finish_run(verdict, run, started), "premigration_assessment": assessment}

    def judge_premigration(self, replication: Mapping[str, Any], *, fail_on_failed: bool) -> dict[str, Any]:
        """The verdict on the replication's newest premigration assessment (fail closed)."""
        from airflow_neon_dms.dms.assessments import (
            RunOutcome,
            classify_run,
            latest_premigration_status,
            premigration_run,
        )
        from airflow_neon_dms.operators.assessment import judge_assessment

        name = str(replication.get("ReplicationConfigIdentifier") or self.replication_config_arn)
        status = latest_premigration_status(replication)
        if status is None:
            raise PremigrationAssessmentError(
                f"Replication {name} shows no PremigrationAssessmentStatuses although StartReplication "
                "carried PremigrationAssessmentSettings. Check the replication in the DMS console; "
                "clear this task to judge it again."
            )
        run = premigration_run(status, name)
        if classify_run(str(run.get("Status"))) == RunOutcome.WAITING:
            raise PremigrationAssessmentError(
                f"Premigration assessment {run['AssessmentRunName']} is {run.get('Status')!r} although "
                "the replication has an outcome; the provider does not model that status, so it does not "
                "let the migration go on. Check the assessment in the DMS console."
            )
        try:
            return judge_assessment(self.hook, self.log, run, fail_on_failed=fail_on_failed)
        except PremigrationAssessmentError as err:
            raise PremigrationAssessmentFailedError(str(err)) from None


class NeonDmsStopReplicationOperator(NeonDmsBaseOperator, WaitMixin):
    """
    Stop a DMS Serverless replication (StopReplication) and wait until it is ``stopped``.

    A replication that is not provisioning or running is left as it is. Returns its summary.

    :param replication_config_arn: the replication config.
    :param wait_for_completion: False returns right after the request.
    :param waiter_delay: seconds between polls.
    :param max_wait: seconds before the wait gives up.
    """

    template_fields: Sequence[str] = (*AWS_TEMPLATE_FIELDS, "replication_config_arn")

    def __init__(
        self,
        *,
        replication_config_arn: str,
        wait_for_completion: bool = True,
        waiter_delay: float = 15,
        max_wait: float = 3600,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_config_arn = replication_config_arn
        self.wait_for_completion = wait_for_completion
        self._init_wait(deferrable=False, waiter_delay=waiter_delay, max_wait=max_wait)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_neon_dms.dms.replication_states import REPLICATION_ACTIVE

        stopped, replication = self.hook.stop_replication_run(self.replication_config_arn)
        deadline = self._deadline()
        while self.wait_for_completion and str(replication.get("Status")) in REPLICATION_ACTIVE:
            if time.time() >= deadline:
                raise DmsResourceError(
                    f"Replication {self.replication_config_arn} is still {replication.get('Status')} "
                    f"{self.max_wait:.0f} s after StopReplication. Raise max_wait, or check it in the "
                    "DMS console."
                )
            time.sleep(self.waiter_delay)
            replication = self.hook.require_replication(self.replication_config_arn)
        return {**replication_summary(replication), "stop_requested": stopped}


class NeonDmsDeleteReplicationConfigOperator(NeonDmsBaseOperator):
    """
    Delete a replication config and wait until DMS no longer finds it; a missing one is fine.

    A running replication is stopped first; the delete is retried until DMS accepts it (DMS
    deletes a config only once its capacity is deprovisioned).

    :param replication_config_arn: the replication config.
    :param max_wait: seconds before the wait gives up.
    :param waiter_delay: seconds between polls.
    """

    template_fields: Sequence[str] = (*AWS_TEMPLATE_FIELDS, "replication_config_arn")

    def __init__(
        self, *, replication_config_arn: str, max_wait: float = 3600, waiter_delay: float = 15, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.replication_config_arn = replication_config_arn
        self.max_wait = max_wait
        self.waiter_delay = waiter_delay

    def execute(self, context: Context) -> None:
        self.hook.remove_replication_config(
            self.replication_config_arn, timeout=self.max_wait, delay=self.waiter_delay
        )
        self.log.info("Replication config %s is deleted", self.replication_config_arn)


def _json_text(value: Mapping[str, Any] | str | None) -> str | None:
    """JSON text of a dict (sorted keys), or the given text; None stays None."""
    if value is None or isinstance(value, str):
        return value or None
    return json.dumps(value, sort_keys=True)


def replication_summary(replication: Mapping[str, Any]) -> dict[str, Any]:
    """The XCom summary of a replication (JSON values only)."""
    from airflow_neon_dms.dms.replication_states import provision_state

    stats = replication.get("ReplicationStats") or {}
    return {
        "replication_config_arn": replication.get("ReplicationConfigArn"),
        "replication_config_identifier": replication.get("ReplicationConfigIdentifier"),
        "status": replication.get("Status"),
        "provision_state": provision_state(replication),
        "stop_reason": replication.get("StopReason"),
        "full_load_progress_percent": stats.get("FullLoadProgressPercent"),
        "tables_loaded": stats.get("TablesLoaded"),
        "tables_errored": stats.get("TablesErrored"),
    }
