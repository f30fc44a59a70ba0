"""Group robots: alert messages for WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书) group chats —
severity, title, site and SKU, with a link back to Cangliu — and a short text for other events.

DingTalk signs with the robot's secret in the URL (``timestamp`` in ms and ``sign``); Feishu signs
in the body (``timestamp`` in s and ``sign``). Robots answer 200 even when they refuse a message:
a non-zero ``errcode`` (WeCom, DingTalk) or ``code`` (Feishu) is a failure, logged with its text.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

import httpx

from cangliu.i18n import DEFAULT, translate
from cangliu.integrations.webhooks import Outcome, failure, post

SEVERITY_LABELS = {"info": "提示", "warning": "警告", "critical": "严重"}
STATE_LABELS = {"alert.opened": "新预警", "alert.acknowledged": "已确认", "alert.resolved": "已解除",
                "alert.escalated": "已升级"}
# The words of an alert message: Chinese for the groups, English for an e-mail's reader who reads
# English (``summary(english=True)``).
WORDS = {False: {"severity": SEVERITY_LABELS, "state": STATE_LABELS, "heading": "【{}】{}：{}",
                 "line": "> {}：{}", "rule": "规则", "site": "站点"},
         True: {"severity": {"info": "Info", "warning": "Warning", "critical": "Critical"},
                "state": {"alert.opened": "New alert", "alert.acknowledged": "Acknowledged",
                          "alert.resolved": "Resolved", "alert.escalated": "Escalated"},
                "heading": "[{}] {}: {}", "line": "> {}: {}", "rule": "Rule", "site": "Site"}}
FEISHU_COLOURS = {"info": "blue", "warning": "orange", "critical": "red"}
Translate = Callable[[str, dict[str, Any]], str]


def fill(title: str, params: dict[str, Any]) -> str:
    """An alert title is an English msgid with ``{name}`` placeholders, shown in Chinese (the
    groups' language); a missing placeholder leaves the title as it is."""
    try:
        return translate(DEFAULT, title, **params)
    except (KeyError, IndexError, ValueError):
        return title


def _text(kind: str, data: dict[str, Any]) -> str:
    if kind == "test":
        return "仓流 Cangliu：测试消息 (test message)"
    if kind == "stock.changed":
        return f"仓流 Cangliu：库存变动 {len(data.get('lines') or [])} 行 (stock.changed)"
    if kind == "record.changed":
        return f"仓流 Cangliu：{data.get('entity', '')} {data.get('key', '')} {data.get('action', '')}"
    return f"仓流 Cangliu：{kind}"


def summary(kind: str, data: dict[str, Any], public_url: str,
            translate: Translate = fill, *, english: bool = False) -> dict[str, str]:
    """The parts every robot shows: heading, markdown lines, the link back and the severity;
    in Chinese, or in English with ``english`` (``translate`` gives the title in the same)."""
    if not kind.startswith("alert."):
        return {"title": _text(kind, data), "lines": "", "url": public_url.rstrip("/"),
                "severity": "info"}
    words: dict[str, Any] = WORDS[english]
    severity = str(data.get("severity") or "warning")
    title = translate(str(data.get("title") or data.get("rule_name") or ""), data.get("params") or {})
    heading = words["heading"].format(words["severity"].get(severity, severity),
                                      words["state"].get(kind, kind), title)
    lines = [words["line"].format(words["rule"], data.get("rule_name") or data.get("rule") or "")]
    lines += [words["line"].format(words["site"], data["site"])] if data.get("site") else []
    lines += [words["line"].format("SKU", data["sku"])] if data.get("sku") else []
    return {"title": heading, "lines": "\n".join(lines), "severity": severity,
            "url": public_url.rstrip("/") + str(data.get("link") or "")}


def wecom(parts: dict[str, str]) -> dict[str, Any]:
    body = f"**{parts['title']}**\n{parts['lines']}\n[查看]({parts['url']})".replace("\n\n", "\n")
    return {"msgtype": "markdown", "markdown": {"content": body}}


def dingtalk(parts: dict[str, str]) -> dict[str, Any]:
    body = f"#### {parts['title']}\n\n{parts['lines']}\n\n[查看]({parts['url']})"
    return {"msgtype": "markdown", "markdown": {"title": parts["title"][:60], "text": body}}


def feishu(parts: dict[str, str]) -> dict[str, Any]:
    elements: list[dict[str, Any]] = []
    if parts["lines"]:
        elements.append({"tag": "div", "text": {"tag": "lark_md",
                                                "content": parts["lines"].replace("> ", "")}})
    elements.append({"tag": "action", "actions": [{
        "tag": "button", "type": "primary", "url": parts["url"],
        "text": {"tag": "plain_text", "content": "查看"}}]})
    return {"msg_type": "interactive", "card": {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": parts["title"]},
                   "template": FEISHU_COLOURS.get(parts["severity"], "blue")},
        "elements": elements}}


def dingtalk_url(url: str, secret: str, now: datetime) -> str:
    """The robot URL with DingTalk's signature: HMAC-SHA256 over "timestamp\\nsecret"."""
    timestamp = str(int(now.timestamp() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def feishu_sign(secret: str, now: datetime) -> dict[str, str]:
    """Feishu's signature: HMAC-SHA256 keyed with "timestamp\\nsecret" over nothing."""
    timestamp = str(int(now.timestamp()))
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return {"timestamp": timestamp, "sign": base64.b64encode(digest).decode()}


def message(robot: str, kind: str, data: dict[str, Any], public_url: str,
            translate: Translate = fill) -> dict[str, Any]:
    parts = summary(kind, data, public_url, translate)
    return {"wecom": wecom, "dingtalk": dingtalk, "feishu": feishu}[robot](parts)


def answer_error(response: httpx.Response) -> str:
    """The robot's refusal in a 200 answer, or "" when it accepted the message."""
    try:
        answer = response.json()
    except ValueError:
        return f"not a JSON answer: {response.text[:200]}"
    if not isinstance(answer, dict):
        return ""
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    if code in (0, None):
        return ""
    return f"error {code}: {answer.get('errmsg') or answer.get('msg') or answer.get('StatusMessage')}"


def send(client: httpx.Client, robot: str, url: str, secret: str, *, kind: str,
         data: dict[str, Any], public_url: str, now: datetime) -> Outcome:
    """Post one message to a group robot; refused answers are failures with the robot's text."""
    payload = message(robot, kind, data, public_url)
    if robot == "dingtalk" and secret:
        url = dingtalk_url(url, secret, now)
    if robot == "feishu" and secret:
        payload = feishu_sign(secret, now) | payload
    content = json.dumps(payload, ensure_ascii=False).encode()
    try:
        response = post(client, url, content, {})
    except httpx.HTTPError as exc:
        return failure(exc)
    if not 200 <= response.status_code < 300:
        return Outcome(False, response.status_code,
                       f"HTTP {response.status_code}: {response.text[:300]}")
    error = answer_error(response)
    return Outcome(not error, response.status_code, error)
