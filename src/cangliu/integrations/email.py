"""E-mail over SMTP: alert messages and reports, plain text with a simple HTML part, from the
``smtp_*`` settings. Without ``smtp_host`` every e-mail delivery fails as "SMTP is not
configured" — logged and retried, so mail queued before the server is set up still goes out."""

import html
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from cangliu.config import Settings
from cangliu.i18n import DEFAULT, translate
from cangliu.integrations.robots import summary
from cangliu.integrations.webhooks import Outcome, failure

TIMEOUT = 10.0


def compose(kind: str, data: dict[str, Any], public_url: str,
            locale: str = DEFAULT) -> tuple[str, str, str]:
    """Subject, text and link of an event's e-mail, in its readers' language."""
    english = not locale.startswith("zh")

    def title(msgid: str, params: dict[str, Any]) -> str:
        try:
            return translate(locale, msgid, **params)
        except (KeyError, IndexError, ValueError):
            return msgid

    parts = summary(kind, data, public_url, title, english=english)
    text = parts["lines"].replace("> ", "")
    return parts["title"], text, parts["url"]


def build(settings: Settings, to: list[str], subject: str, text: str, link: str = "") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, settings.smtp_from, ", ".join(to)
    msg["Date"], msg["Message-ID"] = formatdate(localtime=False), make_msgid(domain="cangliu")
    msg.set_content(f"{text}\n\n{link}".strip() + "\n")
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())
    anchor = f'<p><a href="{html.escape(link, quote=True)}">查看 / Open</a></p>' if link else ""
    msg.add_alternative(f"<html><body><h3>{html.escape(subject)}</h3>{paragraphs}{anchor}"
                        "</body></html>", subtype="html")
    return msg


def send(settings: Settings, to: list[str], subject: str, text: str, link: str = "") -> Outcome:
    """Send one e-mail; any refusal or connection error is a failure with its reason."""
    if not settings.smtp_host:
        return Outcome(False, None, "SMTP is not configured")
    if not to:
        return Outcome(False, None, "no recipients")
    msg = build(settings, to, subject, text, link)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            refused = smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        return failure(exc)
    # Some recipients refused, the others took it: sending again would repeat it to them.
    return Outcome(True, 250, "refused: " + ", ".join(sorted(refused)) if refused else "")
