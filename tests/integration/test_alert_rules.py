"""The shipped alert rules and the example Alertmanager configuration, checked by the real
tools: `promtool check rules`, `promtool test rules tests/rules/*.yaml` (every alert has a
test), `amtool check-config` and `amtool config routes test` (where each alert goes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from promstack import require, run_tool

pytestmark = [pytest.mark.monitoring]

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "charts" / "driftwarden" / "files" / "alert-rules.yaml"
RULE_TESTS = sorted((ROOT / "tests" / "rules").glob("*.yaml"))
ALERTMANAGER = ROOT / "examples" / "alertmanager.yaml"
RUNBOOK = ROOT / "docs" / "runbook.md"


def _alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_rules() -> None:
    require("promtool")
    done = run_tool("promtool", ["check", "rules", str(RULES)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in done.stdout


def test_promtool_unit_tests_pass() -> None:
    require("promtool")
    assert RULE_TESTS
    done = run_tool(
        "promtool", ["test", "rules", *(p.name for p in RULE_TESTS)], cwd=ROOT / "tests" / "rules"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(RULE_TESTS)


def test_every_alert_is_tested_labelled_annotated_and_in_the_runbook() -> None:
    tested = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test") or []:
                if check.get("exp_alerts"):
                    tested.add(check["alertname"])
    headings = {
        line[3:].strip().lower()
        for line in RUNBOOK.read_text().splitlines()
        if line.startswith("## ")
    }
    for rule in _alerts():
        name = str(rule["alert"])
        assert name in tested, f"{name} has no promtool test that fires it"
        labels = rule["labels"]
        annotations = rule["annotations"]
        assert isinstance(labels, dict)
        assert isinstance(annotations, dict)
        assert labels["severity"] in {"critical", "warning"}, name
        assert labels["component"] == "driftwarden", name
        assert {"summary", "description", "runbook_url"} <= set(annotations), name
        anchor = re.fullmatch(
            r"https://\S+/docs/runbook\.md#([a-z0-9-]+)", annotations["runbook_url"]
        )
        assert anchor is not None, annotations["runbook_url"]
        assert anchor.group(1) == name.lower(), annotations["runbook_url"]
        assert anchor.group(1) in headings, f"docs/runbook.md has no section {name}"


def test_amtool_checks_the_example_configuration() -> None:
    require("amtool")
    done = run_tool("amtool", ["check-config", str(ALERTMANAGER)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["component=driftwarden", "severity=critical"], "driftwarden-operator,pager"),
        (["component=driftwarden", "severity=warning"], "driftwarden-operator,chat"),
        (["alertname=SomethingElse", "severity=critical"], "chat"),
    ],
)
def test_the_example_routes_criticals_to_the_pager_and_a_copy_to_the_operator(
    labels: list[str], receivers: str
) -> None:
    require("amtool")
    done = run_tool(
        "amtool", ["config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == receivers


def test_the_example_inhibits_a_monitors_warnings_by_its_criticals() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text())
    (rule,) = config["inhibit_rules"]
    assert 'severity="critical"' in rule["source_matchers"]
    assert 'severity="warning"' in rule["target_matchers"]
    assert set(rule["equal"]) == {"namespace", "monitor"}
    assert "monitor" in config["route"]["group_by"]
    copy = config["route"]["routes"][0]
    assert copy["continue"] is True
    (hook,) = next(r for r in config["receivers"] if r["name"] == copy["receiver"])[
        "webhook_configs"
    ]
    assert hook["url"].endswith(":9809/alertmanager/webhook")
    assert hook["send_resolved"] is True
