"""The amazon provider's AWS connection arguments, as the operators, sensors and triggers hold them."""

from __future__ import annotations

from typing import Any

#: The arguments the amazon provider's hooks take to reach AWS (or a local DMS).
AWS_ARGUMENT_NAMES: tuple[str, ...] = ("aws_conn_id", "region_name", "verify", "botocore_config")


class AwsArguments:
    """Holds ``aws_conn_id``, ``region_name``, ``verify`` and ``botocore_config`` and hands them on."""

    aws_conn_id: str | None
    region_name: str | None
    verify: bool | str | None
    botocore_config: dict[str, Any] | None

    @property
    def aws_kwargs(self) -> dict[str, Any]:
        """The AWS arguments, as the hooks and the triggers take them."""
        return {name: getattr(self, name) for name in AWS_ARGUMENT_NAMES}
