"""`driftwarden db tenant revoke` of a namespace without a role stays exit 0 (revoking twice
is no error) but names the closest namespace that has one: a misspelt namespace must not
read as "done" while the real one keeps its role."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from driftwarden.detectors.cli import main
from driftwarden.detectors.storage.tenancy import grant_tenant, revoke_tenant, tenants

pytestmark = pytest.mark.postgres


def test_revoking_a_misspelt_namespace_names_the_one_with_a_role(
    history: Engine,
    history_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", history_url)
    grant_tenant(history, "team-risk")
    try:
        assert main(["db", "tenant", "revoke", "team-rsik"]) == 0
        out = capsys.readouterr().out
        assert out == "namespace team-rsik: had no role (did you mean 'team-risk'?)\n"
        assert "team-risk" in tenants(history)
        assert main(["db", "tenant", "revoke", "team-risk"]) == 0
        assert capsys.readouterr().out == "namespace team-risk: role dropped\n"
        assert main(["db", "tenant", "revoke", "team-risk"]) == 0
        assert capsys.readouterr().out == "namespace team-risk: had no role\n"
    finally:
        revoke_tenant(history, "team-risk")
