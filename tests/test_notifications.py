"""Failure alerts and the closing report, mailed through a real SMTP server (aiosmtpd) from a DAG run.

The test DAG wires the notifiers exactly as ``dags/neon_dms_migration.py`` does: the mail
addresses come from the ``notify_email`` Param, the server from the ``smtp_default`` connection
(``AIRFLOW_CONN_SMTP_DEFAULT``, with a login the sink checks). One task persists the real DMS
console links and fails quoting the Neon password; another returns a closing report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_neon_dms.notifications.notifier import mail_addresses
from tests.dag_runs import run_dag_script
from tests.smtp_sink import SMTP_PASSWORD, SmtpSink, mail_body, running_smtp_sink

NEON_PASSWORD = "Rotated-Neon-Secret-5530"

DAG_FILE = """
from __future__ import annotations

import json

import pendulum
from airflow.sdk import DAG, BaseHook, BaseOperator, Param, task

from airflow_neon_dms.callbacks import log_failed_step
from airflow_neon_dms.exceptions import ReplicationTaskFailedError
from airflow_neon_dms.links.dms import OPERATOR_LINKS_FOR_TASK, persist_task_links
from airflow_neon_dms.migration_report import build_report
from airflow_neon_dms.notifications.notifier import NeonDmsAlertNotifier, NeonDmsSmtpNotifier

NOTIFIERS = [NeonDmsSmtpNotifier(to="{{ params.notify_email }}", smtp_conn_id="smtp_default")]


class FailingTaskOperator(BaseOperator):
    operator_extra_links = OPERATOR_LINKS_FOR_TASK

    def execute(self, context):
        password = BaseHook.get_connection("neon_target").password
        task = {
            "ReplicationTaskIdentifier": "neon-orders",
            "ReplicationTaskArn": "arn:aws:dms:eu-central-1:123456789012:task:ORDERSTASK",
        }
        persist_task_links(
            context, self, region_name="eu-central-1", partition="aws", task=task,
            instance_id="neon-dms-instance",
        )
        raise ReplicationTaskFailedError(
            f"Replication task neon-orders failed: Stop Reason FATAL_ERROR (password {password} refused "
            f"for endpoint=ep-x${password}). Check the Neon connection."
        )


def migration_dag(dag_id, addresses):
    with DAG(
        dag_id, schedule=None, start_date=pendulum.datetime(2024, 1, 1),
        default_args={"on_failure_callback": [log_failed_step, NeonDmsAlertNotifier(*NOTIFIERS)]},
        params={"notify_email": Param(addresses, type="array")},
    ) as dag:
        FailingTaskOperator(task_id="run_full_load")

        @task(on_success_callback=NeonDmsAlertNotifier(*NOTIFIERS, kind="report"))
        def report():
            diff = {"complete": True, "identical": True, "rows_source": 42, "rows_target": 42, "tables": [
                {"schema": "public", "table": "orders", "rows_source": 40, "rows_target": 40},
                {"schema": "public", "table": "customers", "rows_source": 2, "rows_target": 2},
            ]}
            return build_report(validation=None, reload=None, diff=diff, sequences={"changed": 3})

        report()
    return dag


loud = migration_dag("notify_dag", ["dba@example.com", "oncall@example.com"])
quiet = migration_dag("notify_dag_quiet", [])

if __name__ == "__main__":
    out = {}
    for dag in (loud, quiet):
        run = dag.test()
        out[dag.dag_id] = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print("RESULT " + json.dumps(out))
"""


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with running_smtp_sink() as sink:
        yield sink


def test_failure_alert_and_report_reach_the_mail_server(dag_test_home: Path, smtp_sink: SmtpSink) -> None:
    neon = json.dumps(
        {"conn_type": "neon", "host": "ep-x.neon.tech", "login": "u", "password": NEON_PASSWORD}
    )
    run = run_dag_script(
        dag_test_home,
        "notify_dag",
        DAG_FILE,
        AIRFLOW_CONN_SMTP_DEFAULT=smtp_sink.airflow_conn(),
        AIRFLOW_CONN_NEON_TARGET=neon,
    )

    assert run.result["notify_dag"] == {"run_full_load": "failed", "report": "success"}
    assert run.result["notify_dag_quiet"] == {"run_full_load": "failed", "report": "success"}
    assert "No mail recipients configured; the migration mail is not sent." in run.output
    # Two mails, both from the run with addresses: the quiet run (no addresses) sent nothing.
    by_subject = {m["Subject"]: (to, m) for to, m in smtp_sink.messages}
    assert len(smtp_sink.messages) == 2, list(by_subject)

    failure_subject = next(s for s in by_subject if "failed" in s)
    assert failure_subject.startswith(
        "[notify_dag] Migration step run_full_load failed: Replication task neon-orders failed: "
        "Stop Reason FATAL_ERROR"
    )
    to, failure = by_subject[failure_subject]
    assert to == ["dba@example.com", "oncall@example.com"]
    assert failure["From"] == "airflow@example.com"
    body = mail_body(failure)
    assert "Migration step <b>run_full_load</b> of DAG <b>notify_dag</b> failed (try 1)" in body
    assert "Stop Reason FATAL_ERROR (password *** refused for endpoint=ep-x$***)" in body
    console = "https://console.aws.amazon.com/dms/v2/home?region=eu-central-1"
    assert f'DMS task: <a href="{console}#taskDetails/neon-orders">' in body
    assert f"{console}#taskDetails/neon-orders?tab=table-statistics" in body
    assert "dms-task-ORDERSTASK" in body
    assert "Airflow task log: <a href=" in body and "/dags/notify_dag/runs/" in body

    report_subject = "[notify_dag] Migration into Neon verified, 2 table(s) identical on Neon"
    _, report = by_subject[report_subject]
    report_body = mail_body(report)
    assert "public.orders" in report_body and "public.customers" in report_body
    assert "Every migrated table is identical on the source and on Neon. Sequences moved: 3." in report_body

    for _, message in smtp_sink.messages:
        raw = message.as_string()
        assert NEON_PASSWORD not in raw and SMTP_PASSWORD not in raw


def test_mail_addresses_from_a_rendered_param() -> None:
    assert mail_addresses("['dba@example.com', 'oncall@example.com']") == [
        "dba@example.com",
        "oncall@example.com",
    ]
    assert mail_addresses("dba@example.com; oncall@example.com") == ["dba@example.com", "oncall@example.com"]
    assert mail_addresses("[]") == [] and mail_addresses("") == [] and mail_addresses(None) == []


def test_slack_without_its_provider_says_how_to_install_it() -> None:
    from airflow_neon_dms.exceptions import NeonConfigError
    from airflow_neon_dms.notifications.notifier import slack_webhook_notifier

    try:
        import airflow.providers.slack  # noqa: F401
    except ImportError:
        with pytest.raises(NeonConfigError, match=r"pip install 'airflow-neon-dms\[slack\]'"):
            slack_webhook_notifier("neon_dms_slack")
        return
    notifier = slack_webhook_notifier("neon_dms_slack")
    assert notifier.text == "{{ neon_dms_alert.text }}"  # type: ignore[attr-defined]


def test_a_notifier_that_cannot_send_does_not_stop_the_others(
    smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from airflow_neon_dms.exceptions import NotificationError, ReplicationTaskFailedError
    from airflow_neon_dms.local.embedded import free_port
    from airflow_neon_dms.notifications.notifier import NeonDmsAlertNotifier, NeonDmsSmtpNotifier

    closed = json.loads(smtp_sink.airflow_conn())
    closed["port"] = free_port()  # nothing listens there: the connection is refused
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_CLOSED", json.dumps(closed))
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_SINK", smtp_sink.airflow_conn())
    notifier = NeonDmsAlertNotifier(
        NeonDmsSmtpNotifier(to=["dba@example.com"], smtp_conn_id="smtp_closed"),
        NeonDmsSmtpNotifier(to=["dba@example.com"], smtp_conn_id="smtp_sink"),
    )
    # A failure callback's context as the task runner passes it: the task instance and the error.
    ti = SimpleNamespace(dag_id="d", task_id="run_full_load", run_id="r1", map_index=-1, try_number=2)
    context = {"ti": ti, "exception": ReplicationTaskFailedError("Replication task t failed: FATAL_ERROR.")}

    with pytest.raises(
        NotificationError, match=r"The migration failure was not sent by: NeonDmsSmtpNotifier"
    ):
        notifier(context)
    assert [m["Subject"] for _, m in smtp_sink.messages] == [
        "[d] Migration step run_full_load failed: Replication task t failed: FATAL_ERROR."
    ]
