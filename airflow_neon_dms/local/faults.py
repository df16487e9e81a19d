"""AWS DMS API errors the local emulator returns: each has the fault code a real DMS would send."""

from __future__ import annotations


class DmsFault(Exception):
    """An error answered to the API caller as ``{"__type": code, "message": message}``."""

    code = "InternalFailure"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ResourceNotFoundFault(DmsFault):
    """The named endpoint, instance, task or connection does not exist."""

    code = "ResourceNotFoundFault"


class ResourceAlreadyExistsFault(DmsFault):
    """A resource with the same identifier already exists."""

    code = "ResourceAlreadyExistsFault"


class InvalidResourceStateFault(DmsFault):
    """The resource is in a state that does not allow the operation."""

    code = "InvalidResourceStateFault"


class InvalidParameterValueException(DmsFault):
    """A parameter has a value DMS does not accept."""

    code = "InvalidParameterValueException"


class InvalidParameterCombinationException(DmsFault):
    """Parameters that DMS does not accept together."""

    code = "InvalidParameterCombinationException"


class UnknownOperationException(DmsFault):
    """The operation is part of the DMS API but the local emulator does not implement it."""

    code = "UnknownOperationException"


class InternalFailure(DmsFault):
    """An unexpected error inside the emulator (reported without a traceback)."""

    code = "InternalFailure"
    status = 500


class ReplicationSubnetGroupDoesNotCoverEnoughAZs(DmsFault):
    """A replication subnet group needs subnets in at least two Availability Zones."""

    code = "ReplicationSubnetGroupDoesNotCoverEnoughAZs"


class InvalidSubnet(DmsFault):
    """A subnet id that is not one (``subnet-`` and hexadecimal digits)."""

    code = "InvalidSubnet"
