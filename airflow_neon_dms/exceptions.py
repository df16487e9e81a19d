"""Exceptions raised by airflow-neon-dms.

One base class, specific subclasses. Messages read
"<resource> <id> <what happened>: <vendor reason>. <fix>" and never contain a secret.
This module imports nothing from Airflow so the pure rules and the CLI can use it.
"""

from __future__ import annotations


class NeonDmsError(Exception):
    """Base class of every error this provider raises on purpose.

    ``retryable`` False marks errors no retry can fix (a missing resource, a refused value): the
    operators turn those into Airflow's fail-without-retry exception (``operators/base.py``).
    """

    retryable: bool = True


class NeonConfigError(NeonDmsError, ValueError):
    """A user-supplied value (host, id, mapping, setting) is wrong; the message says the fix."""

    retryable = False


class NeonHostError(NeonConfigError):
    """A host name that is not a usable Neon host."""


class DmsPasswordError(NeonConfigError):
    """A password that AWS DMS cannot store in an endpoint."""


class WrongConnectionTypeError(NeonConfigError):
    """An Airflow connection of a type the hook does not accept."""


class DatabaseConnectionError(NeonDmsError):
    """A source or Neon database refused or failed the connection; the message says which and why."""


class DmsResourceError(NeonDmsError):
    """A DMS resource (endpoint, task, connection) is in a state the step cannot accept."""


class DmsResourceNotFoundError(DmsResourceError):
    """A DMS resource (instance, endpoint, task) given by ARN does not exist (any more)."""

    retryable = False


class DmsRequestRefusedError(DmsResourceError):
    """DMS refused a request for a reason a retry cannot change (a value it does not accept)."""

    retryable = False


class ConnectionTestFailedError(DmsResourceError):
    """TestConnection from the replication instance to an endpoint failed."""


class ReplicationTaskFailedError(DmsResourceError):
    """A replication task failed or stopped for an error."""


class TableValidationFailedError(NeonDmsError):
    """One or more tables failed to load or validate."""


class SchemaPreflightError(NeonDmsError):
    """Source and Neon target schemas are not compatible for the migration."""


class DataDiffError(NeonDmsError):
    """The independent source-vs-Neon comparison could not run or found differences."""


class SequenceSyncError(NeonDmsError):
    """A Neon sequence could not be read or moved past the loaded data."""


class NotificationError(NeonDmsError):
    """An alert or report could not be sent by one or more notifiers; the message says which."""


class PremigrationAssessmentError(DmsResourceError):
    """A premigration assessment found failed individual assessments, or could not run."""


class PremigrationAssessmentFailedError(PremigrationAssessmentError):
    """The assessment DMS ran with a serverless StartReplication failed: a retry would only read
    the same result (it starts no second run), so the task fails at once."""

    retryable = False
