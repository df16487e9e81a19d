"""AWS DMS's rules for the connection fields of a relational endpoint, kept apart from the
product's own Neon rules (``airflow_neon_dms.neon``) so a shared wrong assumption cannot pass both.
"""

from __future__ import annotations

from collections.abc import Mapping

from airflow_neon_dms.local.databases import MYSQL_ENGINES, POSTGRES_ENGINES

#: Characters DMS refuses in an endpoint password, per engine. Source: DMS's CreateEndpoint error
#: quoted in neondatabase/neon issue 4882 ("The parameter Password contains at least one
#: unsupported characters from following list : ;+%"), the reason Neon added ``$`` as its
#: endpoint-id separator; the DMS user guide's PostgreSQL endpoint limitations name the same set.
UNSUPPORTED_PASSWORD_CHARACTERS: Mapping[str, frozenset[str]] = {
    "postgres": frozenset(";+%"),
    "aurora-postgresql": frozenset(";+%"),
}

#: Fields CreateEndpoint refuses to go without for these engines (botocore marks them optional:
#: only EndpointIdentifier, EndpointType and EngineName are required by the model). AWS answers
#: "The parameter serverName must be provided and must not be blank." (quoted in
#: hashicorp/terraform issue 23442); AWS CloudFormation rolls an AWS::DMS::Endpoint back without
#: Port, ServerName or Username (awsdocs/aws-cloudformation-user-guide issue 381).
_REQUIRED_AT_CREATE = (("ServerName", "serverName"), ("Port", "port"), ("Username", "username"))
#: Connection fields without which DMS cannot pick the database, so TestConnection and the task
#: fail instead of using the driver's default (the DMS user guide's PostgreSQL endpoint settings
#: list the database name as required). For MySQL botocore says "do not specify DatabaseName"
#: (CreateEndpoint's DatabaseName documentation), so it is never needed there. An empty password
#: is allowed for every engine, so that a passwordless (trust) local server can be an endpoint;
#: AWS's console asks for one.
_NEEDED_TO_CONNECT: dict[str, tuple[str, ...]] = {
    **{engine: ("DatabaseName",) for engine in POSTGRES_ENGINES},
    **{engine: () for engine in MYSQL_ENGINES},
}
_SETTINGS_BLOCKS = ("PostgreSQLSettings", "MySQLSettings")


def unsupported_password_message(engine: str, password: str) -> str | None:
    """DMS's refusal of a password with characters it does not accept, or None."""
    forbidden = UNSUPPORTED_PASSWORD_CHARACTERS.get(engine, frozenset())
    if not any(ch in forbidden for ch in password):
        return None
    return (
        "The parameter Password contains at least one unsupported characters from following "
        f"list : {''.join(sorted(forbidden, key=';+%'.find))}"
    )


def _uses_secrets_manager(settings: Mapping[str, Mapping[str, object]]) -> bool:
    """An endpoint with SecretsManagerSecretId takes its connection fields from the secret."""
    return any(settings.get(block, {}).get("SecretsManagerSecretId") for block in _SETTINGS_BLOCKS)


def missing_at_create(
    engine: str, fields: Mapping[str, object], settings: Mapping[str, Mapping[str, object]]
) -> str | None:
    """CreateEndpoint's (and ModifyEndpoint's) refusal of a blank required field, or None."""
    if engine not in _NEEDED_TO_CONNECT or _uses_secrets_manager(settings):
        return None
    for api_name, wire_name in _REQUIRED_AT_CREATE:
        value = fields.get(api_name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return f"The parameter {wire_name} must be provided and must not be blank."
    return None


def missing_to_connect(
    engine: str, fields: Mapping[str, object], settings: Mapping[str, Mapping[str, object]]
) -> str | None:
    """Why DMS cannot log in with these fields (a TestConnection/task failure), or None."""
    if _uses_secrets_manager(settings):
        return (
            "The endpoint takes its connection details from AWS Secrets Manager "
            "(SecretsManagerSecretId), which the local DMS emulator cannot read; set ServerName, "
            "Port, Username, Password and DatabaseName on the endpoint instead."
        )
    missing = [name for name in _NEEDED_TO_CONNECT.get(engine, ()) if not fields.get(name)]
    if not missing:
        return None
    return (
        f"The endpoint has no {' and no '.join(missing)}; a {engine} endpoint needs "
        f"{', '.join(('ServerName', 'Port', 'Username', 'Password', *_NEEDED_TO_CONNECT[engine]))} "
        "to connect (the password may be empty for a server that trusts the user). "
        "Set them with ModifyEndpoint."
    )
