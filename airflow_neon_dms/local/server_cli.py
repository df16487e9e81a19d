"""``neon-dms local-dms``: run the local DMS emulator in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging

import boto3

from airflow_neon_dms.local.foreground import configure_logging, wait_for_stop_signal
from airflow_neon_dms.local.neon_proxy import BACKEND_SSLMODES, DEFAULT_BACKEND_SSLMODE
from airflow_neon_dms.local.server import LocalDms, NeonTarget
from airflow_neon_dms.local.state_timing import INSTANT, StateTiming

log = logging.getLogger(__name__)


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds (e.g. 5 or 60)")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, default=4566, help="port to listen on (0 = a free one)")
    parser.add_argument("--region", default="us-east-1", help="the AWS region the emulator answers for")
    parser.add_argument(
        "--neon",
        action="append",
        default=[],
        metavar="ENDPOINT_ID@HOST:PORT",
        help="treat the PostgreSQL server at HOST:PORT as Neon endpoint ENDPOINT_ID (repeatable)",
    )
    parser.add_argument(
        "--backend-sslmode",
        choices=BACKEND_SSLMODES,
        default=DEFAULT_BACKEND_SSLMODE,
        help="TLS from the Neon proxy to the --neon servers, as libpq's sslmode: prefer (the "
        "default), require (TLS or fail; real Neon), disable",
    )
    parser.add_argument(
        "--replication-instance",
        action="append",
        default=[],
        metavar="IDENTIFIER",
        help="create this replication instance at start-up (repeatable)",
    )
    parser.add_argument(
        "--s3-bucket",
        action="append",
        default=[],
        metavar="NAME",
        help="create this bucket in the emulator's S3 at start-up, e.g. for premigration "
        "assessment results (repeatable)",
    )
    defaults = StateTiming()
    timing = parser.add_argument_group("state timing (AWS's transitional states; 0 = never shown)")
    timing.add_argument(
        "--task-creating-seconds",
        type=float,
        default=defaults.task_creating_seconds,
        help="seconds a new task stays 'creating' before it is 'ready' (AWS: about 60)",
    )
    timing.add_argument(
        "--task-starting-seconds",
        type=float,
        default=defaults.task_starting_seconds,
        help="seconds a started task stays 'starting' before it is 'running'",
    )
    timing.add_argument(
        "--deleting-seconds",
        type=float,
        default=defaults.deleting_seconds,
        help="seconds a deleted endpoint, task or instance stays 'deleting' before it is gone",
    )
    timing.add_argument(
        "--modifying-seconds",
        type=float,
        default=defaults.modifying_seconds,
        help="seconds a modified replication instance stays 'modifying'",
    )
    timing.add_argument(
        "--serverless-provisioning-seconds",
        type=float,
        default=defaults.serverless_provisioning_seconds,
        help="seconds a started DMS Serverless replication provisions capacity before it runs",
    )
    timing.add_argument(
        "--serverless-deprovision-after-seconds",
        type=float,
        default=defaults.serverless_deprovision_after_seconds,
        help="seconds a stopped serverless replication keeps its capacity (AWS: up to 48 hours)",
    )
    timing.add_argument(
        "--instant-states",
        action="store_true",
        help="set every time above to 0: no transitional state is ever described (fast tests)",
    )
    parser.add_argument(
        "--metrics-period-seconds",
        type=_positive_seconds,
        default=5.0,
        help="how often a running task publishes its CloudWatch metrics (AWS/DMS); default 5",
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")


def timing_from_args(args: argparse.Namespace) -> StateTiming:
    """The state timing the command line asks for."""
    if args.instant_states:
        return INSTANT
    return StateTiming(
        task_creating_seconds=args.task_creating_seconds,
        task_starting_seconds=args.task_starting_seconds,
        deleting_seconds=args.deleting_seconds,
        modifying_seconds=args.modifying_seconds,
        serverless_provisioning_seconds=args.serverless_provisioning_seconds,
        serverless_deprovision_after_seconds=args.serverless_deprovision_after_seconds,
    )


def create_instances(endpoint_url: str, region: str, identifiers: list[str]) -> list[str]:
    """Create replication instances through the emulator's own API; return their ARNs."""
    client = boto3.client(
        "dms",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    arns = []
    for identifier in identifiers:
        instance = client.create_replication_instance(
            ReplicationInstanceIdentifier=identifier, ReplicationInstanceClass="dms.t3.medium"
        )["ReplicationInstance"]
        arns.append(str(instance["ReplicationInstanceArn"]))
    return arns


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    logging.getLogger("werkzeug").setLevel(args.log_level.upper())
    try:
        targets = [NeonTarget.parse(text, args.backend_sslmode) for text in args.neon]
    except ValueError as err:
        log.error("%s", err)
        return 2
    with LocalDms(
        host=args.host,
        port=args.port,
        neon=targets,
        region=args.region,
        timing=timing_from_args(args),
        metrics_period_seconds=args.metrics_period_seconds,
    ) as dms:
        for target, proxy in zip(targets, dms.proxies, strict=True):
            log.info(
                "Neon endpoint %s: %s:%s is served through the proxy on 127.0.0.1:%s",
                target.endpoint_id,
                target.host,
                target.port,
                proxy.port,
            )
        local_url = f"http://127.0.0.1:{dms.port}"
        for arn in create_instances(local_url, args.region, args.replication_instance):
            log.info("Replication instance ready: %s", arn)
        for bucket in args.s3_bucket:
            dms.service.s3.create_bucket(bucket, args.region)
            log.info("S3 bucket ready: %s", bucket)
        print(f"Local DMS ready: endpoint_url={dms.endpoint_url}", flush=True)
        wait_for_stop_signal()
    log.info("Local DMS stopped")
    return 0
