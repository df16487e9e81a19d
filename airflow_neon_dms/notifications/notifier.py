"""Send the migration's failure alert and closing report through any Airflow notifier.

``NeonDmsAlertNotifier`` composes the message (:mod:`airflow_neon_dms.notifications.messages`),
scrubs secrets from it, puts it in the context as ``neon_dms_alert`` (``subject``, ``text``,
``html``) and calls each notifier it wraps with that context. A notifier renders its templated
fields first, so any Airflow notifier works once its templates read ``neon_dms_alert``:
``NeonDmsSmtpNotifier`` (mail, from the smtp provider) and ``slack_webhook_notifier`` (Slack,
when the slack provider is installed) come ready-made.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import BaseNotifier

from airflow_neon_dms.callbacks import failed_step
from airflow_neon_dms.exceptions import NeonConfigError, NotificationError
from airflow_neon_dms.masking import scrub

if TYPE_CHECKING:
    from airflow_neon_dms.notifications.messages import MigrationAlert

#: The context key a wrapped notifier's templates read the message from.
ALERT_CONTEXT_KEY = "neon_dms_alert"
ALERT_SUBJECT = "{{ neon_dms_alert.subject }}"
ALERT_HTML = "{{ neon_dms_alert.html }}"
ALERT_TEXT = "{{ neon_dms_alert.text }}"

AlertKind = Literal["failure", "report"]


def build_alert(kind: AlertKind, context: Any) -> MigrationAlert:
    """The message for ``context``: its failed step, or the closing report its task returned."""
    from airflow_neon_dms.notifications.messages import MigrationAlert, failure_alert, report_alert

    if kind == "failure":
        alert = failure_alert(failed_step(context))
    else:
        ti = context["ti"]
        report = ti.xcom_pull(task_ids=ti.task_id) or {}
        alert = report_alert(ti.dag_id, ti.run_id, report)
    return MigrationAlert(
        kind=alert.kind, subject=scrub(alert.subject), text=scrub(alert.text), html=scrub(alert.html)
    )


class NeonDmsAlertNotifier(BaseNotifier):
    """
    Send the migration's failure alert, or its closing report, through other Airflow notifiers.

    Use ``kind="failure"`` as an ``on_failure_callback`` (the mail names the failed step, the
    reason and the task's AWS console links) and ``kind="report"`` as the ``on_success_callback``
    of the task that returns the closing report. Every wrapped notifier is tried; when any fails,
    a ``NotificationError`` names them after all were tried. Secrets never reach a notifier: the
    message is scrubbed with Airflow's secrets masker first.

    :param notifiers: The notifiers to send through; their templates read ``neon_dms_alert``.
    :param kind: ``"failure"`` or ``"report"``.
    """

    def __init__(self, *notifiers: BaseNotifier, kind: AlertKind = "failure") -> None:
        super().__init__()
        if kind not in ("failure", "report"):
            raise NeonConfigError(
                f"NeonDmsAlertNotifier kind {kind!r} is unknown; use 'failure' or 'report'."
            )
        self.notifiers = notifiers
        self.kind: AlertKind = kind

    def notify(self, context: Any) -> None:
        alert = build_alert(self.kind, context)
        failed: list[str] = []
        for notifier in self.notifiers:
            # A fresh copy each time: rendering templates overwrites a notifier's fields in place.
            channel = copy.copy(notifier)
            try:
                channel({**context, ALERT_CONTEXT_KEY: alert.as_dict()})
            except Exception as err:
                name = type(notifier).__name__
                self.log.warning("%s could not send the %s: %s", name, self.kind, scrub(str(err)))
                failed.append(f"{name} ({scrub(str(err))})")
        if failed:
            raise NotificationError(f"The migration {self.kind} was not sent by: {'; '.join(failed)}.")


#: A mail address in a rendered ``to``: "a@x.com,b@y.com", "a@x.com; b@y.com" or "['a@x.com']".
_ADDRESS = re.compile(r"[^\s,;'\"\[\]<>]+@[^\s,;'\"\[\]<>]+")


def mail_addresses(to: str | Iterable[str] | None) -> list[str]:
    """The addresses in ``to`` as rendered from a template (a string) or given as a list."""
    if to is None:
        return []
    return _ADDRESS.findall(to if isinstance(to, str) else " ".join(to))


class NeonDmsSmtpNotifier(SmtpNotifier):
    """
    Mail the migration alert through the smtp provider; send nothing when ``to`` renders empty.

    Subject and HTML body default to the alert's (``neon_dms_alert``); ``to`` is templated, so a
    DAG can take the addresses from a Param (``"{{ params.notify_email | join(',') }}"``). The
    sender is ``from_email`` or the connection's ``from_email`` extra.

    :param to: Addresses (a list, or a string separated by ``,`` or ``;``).
    :param smtp_conn_id: The smtp connection (host, port, login, password, extras).
    """

    def __init__(
        self,
        *,
        to: str | Iterable[str],
        smtp_conn_id: str | None = None,
        from_email: str | None = None,
        subject: str = ALERT_SUBJECT,
        html_content: str = ALERT_HTML,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            to=to,
            smtp_conn_id=smtp_conn_id,
            from_email=from_email,
            subject=subject,
            html_content=html_content,
            **kwargs,
        )

    def notify(self, context: Any) -> None:
        recipients = mail_addresses(self.to)
        if not recipients:
            self.log.info("No mail recipients configured; the migration mail is not sent.")
            return
        self.to = recipients
        super().notify(context)


def slack_webhook_notifier(slack_webhook_conn_id: str, **kwargs: Any) -> BaseNotifier:
    """A Slack incoming-webhook notifier that posts the alert's text (needs the slack provider)."""
    try:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier
    except ImportError as err:
        raise NeonConfigError(
            f"Slack connection {slack_webhook_conn_id!r} is configured, but the Slack provider is not "
            "installed. Install it with: pip install 'airflow-neon-dms[slack]' (or "
            "apache-airflow-providers-slack), or leave Slack out."
        ) from err
    notifier: BaseNotifier = SlackWebhookNotifier(
        slack_webhook_conn_id=slack_webhook_conn_id, text=ALERT_TEXT, **kwargs
    )
    return notifier
