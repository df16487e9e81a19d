"""The example DAG's migration type and cutover Params, checked together (pure, no Airflow import).

``migration_type`` is the DMS MigrationType the DAG creates its task with: ``full-load`` (a
one-time copy; the task stops by itself) or ``full-load-and-cdc`` (load, then keep applying the
source's changes until the cutover stops the task). ``cutover`` says how the DAG learns that the
application has stopped writing, which only a task that keeps replicating needs:

- ``approval`` (the default with CDC): a person confirms it (Airflow's human-in-the-loop
  ApprovalOperator);
- ``quiet``: the task's CloudWatch metrics show no incoming changes and zero latency for a while
  (unattended runs, tests, the demo).
"""

from __future__ import annotations

from airflow_neon_dms.exceptions import NeonConfigError

FULL_LOAD = "full-load"
FULL_LOAD_AND_CDC = "full-load-and-cdc"
#: The MigrationType values the example DAG runs (a ``cdc``-only task needs a target loaded some other way).
DAG_MIGRATION_TYPES: tuple[str, ...] = (FULL_LOAD, FULL_LOAD_AND_CDC)
APPROVAL = "approval"
QUIET = "quiet"
CUTOVER_MODES: tuple[str, ...] = (APPROVAL, QUIET)


def cutover_mode(migration_type: str, cutover: str | None) -> str | None:
    """The cutover the run uses: None for a full load, else ``approval`` (default) or ``quiet``.

    Raises NeonConfigError naming both Params and the fix for an unknown value, or for a cutover
    asked of a full load, which has nothing to cut over.
    """
    if migration_type not in DAG_MIGRATION_TYPES:
        raise NeonConfigError(
            f"Param migration_type {migration_type!r} is not one of {', '.join(DAG_MIGRATION_TYPES)}. "
            f"Use {FULL_LOAD} for a one-time copy, {FULL_LOAD_AND_CDC} to keep replicating until a cutover."
        )
    if cutover is not None and cutover not in CUTOVER_MODES:
        raise NeonConfigError(
            f"Param cutover {cutover!r} is not one of {', '.join(CUTOVER_MODES)}. Use {APPROVAL} to have "
            f"a person confirm the application stopped writing, {QUIET} to wait until no changes arrive."
        )
    if migration_type == FULL_LOAD:
        if cutover is not None:
            raise NeonConfigError(
                f"Param cutover {cutover!r} needs Param migration_type {FULL_LOAD_AND_CDC}, but "
                f"migration_type is {FULL_LOAD}: a full load stops by itself and has no cutover. Set "
                f"migration_type to {FULL_LOAD_AND_CDC}, or leave cutover empty (null)."
            )
        return None
    return cutover or APPROVAL
