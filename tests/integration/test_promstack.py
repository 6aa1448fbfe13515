"""tests/promstack.py against the real servers: an always-firing rule travels from
Prometheus through Alertmanager to the test's webhook receiver."""

from __future__ import annotations

from pathlib import Path

import pytest
from promstack import Alertmanager, Prometheus, WebhookReceiver, poll, require

pytestmark = [pytest.mark.monitoring]


def test_a_rule_reaches_the_webhook(tmp_path: Path) -> None:
    require("prometheus", "alertmanager")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "groups:\n- name: smoke\n  rules:\n"
        "  - alert: Always\n    expr: vector(1)\n    labels: {severity: warning}\n"
        "    annotations: {summary: always firing}\n"
    )
    with WebhookReceiver.start() as hook:
        config = {
            "route": {
                "receiver": "hook",
                "group_by": ["alertname"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "hook", "webhook_configs": [{"url": f"{hook.url}/hook"}]}],
        }
        with (
            Alertmanager.start(config) as am,
            Prometheus.start(rule_files=[rules], alertmanager=am.address) as prom,
        ):
            found = poll(
                lambda: hook.alerts("firing", {"alertname": "Always"}),
                60,
                lambda: f"no notification; Prometheus holds {prom.alerts()}",
            )
    note, alert = found[0]
    assert note["path"] == "/hook"
    assert alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["summary"] == "always firing"
