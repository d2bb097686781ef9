# SPDX-License-Identifier: Apache-2.0
"""Delivering one alert: a JSON POST to each webhook (httpx) and one e-mail (smtplib).

The webhook body is `{"text": "...", "alert": {...}}`: `text` is what Slack, Mattermost,
Rocket.Chat and Teams workflows show; `alert` holds the same facts as fields for programs.
A channel that fails is logged and reported; it never stops the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
import ssl
import time
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx

from slotwise.gateway.config.alerts import AlertsSettings, EmailChannel, WebhookChannel

log = logging.getLogger("slotwise.alerts")
_ICONS = {"firing": ":rotating_light:", "resolved": ":white_check_mark:", "raised": ":warning:", "test": ":bell:"}


@dataclass(frozen=True)
class Alert:
    kind: str
    """The rule's kind (kpi, srm, fallback_rate, render_p99) or the kind given to `raise_alert`."""
    name: str
    """The rule's key, or the kind for an alert raised by code."""
    state: str
    """firing, resolved (a recovery), raised (by `raise_alert`) or test."""
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    def title(self) -> str:
        label = {"firing": "FIRING", "resolved": "RESOLVED", "raised": "ALERT", "test": "TEST"}[self.state]
        return f"[slotwise] {label} {self.name}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def webhook_body(alert: Alert) -> dict[str, Any]:
    return {"text": f"{_ICONS[alert.state]} {alert.title()}: {alert.message}", "alert": alert.as_dict()}


def email_message(channel: EmailChannel, alert: Alert) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"{alert.title()}: {alert.message}"[:200]
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    lines = [alert.message, "", *(f"{k}: {v}" for k, v in alert.fields.items() if v is not None)]
    lines += ["", time.strftime("at %Y-%m-%d %H:%M:%S UTC", time.gmtime(alert.ts))]
    message.set_content("\n".join(lines))
    return message


async def _post(client: httpx.AsyncClient, channel: WebhookChannel, alert: Alert) -> None:
    body = json.dumps(webhook_body(alert), default=str)
    headers = {"Content-Type": "application/json", **channel.headers}
    r = await client.post(channel.url, content=body, headers=headers, timeout=channel.timeout_seconds)
    if r.status_code >= 300:
        raise RuntimeError(f"answered {r.status_code}")


def send_email(channel: EmailChannel, alert: Alert) -> None:
    """Blocking: run it in a thread from async code."""
    smtp_class = smtplib.SMTP_SSL if channel.ssl else smtplib.SMTP
    kwargs: dict[str, Any] = {"timeout": channel.timeout_seconds}
    if channel.ssl:
        kwargs["context"] = ssl.create_default_context()
    with smtp_class(channel.host, channel.port, **kwargs) as smtp:
        if channel.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if channel.username:
            smtp.login(channel.username, channel.password or "")
        smtp.send_message(email_message(channel, alert))


def _where(url: str) -> str:
    """A webhook's address without its path (Slack's path is the secret)."""
    return "/".join(url.split("/")[:3])


async def deliver(settings: AlertsSettings, alert: Alert) -> dict[str, str | None]:
    """Send to every channel; `{channel: None or the error}`."""
    results: dict[str, str | None] = {}
    async with httpx.AsyncClient() as client:
        for i, hook in enumerate(settings.webhooks):
            name = f"webhook {i + 1} ({_where(hook.url)})"
            try:
                await _post(client, hook, alert)
                results[name] = None
            except (httpx.HTTPError, RuntimeError) as exc:
                results[name] = str(exc) or type(exc).__name__
    if settings.email is not None:
        name = f"email ({settings.email.host}:{settings.email.port})"
        try:
            await asyncio.to_thread(send_email, settings.email, alert)
            results[name] = None
        except (OSError, smtplib.SMTPException) as exc:
            results[name] = str(exc) or type(exc).__name__
    for name, error in results.items():
        if error is not None:
            log.warning("alert %s could not be sent to %s: %s", alert.name, name, error)
    return results
