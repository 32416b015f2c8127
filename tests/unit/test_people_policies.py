"""The managed policies for people (template.yaml: ViewerPolicy, PosterPolicy, AdminPolicy) read as the
security document they are: what each role may do, and that no role can read a token or a secret."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import yaml

from igpub.accounts import PUBLIC_ATTRIBUTES
from igpub.repositories.hashtags import POOL_ATTRIBUTES
from tests.unit.test_template import ROOT, _Loader

ROLES = ("ViewerPolicy", "PosterPolicy", "AdminPolicy")


@functools.cache
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader
    return loaded


def statements(role: str) -> list[dict[str, Any]]:
    resource = template()["Resources"][role]
    assert resource["Type"] == "AWS::IAM::ManagedPolicy"
    found: list[dict[str, Any]] = resource["Properties"]["PolicyDocument"]["Statement"]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions(role: str) -> set[str]:
    out: set[str] = set()
    for st in statements(role):
        acts = st["Action"]
        out.update([acts] if isinstance(acts, str) else acts)
    return out


@pytest.mark.parametrize("role", ROLES)
def test_no_role_reaches_a_secret_a_key_or_everything(role: str) -> None:
    for st in statements(role):
        assert st["Effect"] == "Allow"
        acts = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        for act in acts:
            service, _, name = act.partition(":")
            assert service not in ("kms", "secretsmanager", "iam", "ssm"), act
            assert "*" not in name, act
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if acts != ["cloudwatch:DescribeAlarms"]:  # a listing: AWS evaluates it against "*" (template comment)
            assert "*" not in resources, st["Sid"]


@pytest.mark.parametrize("role", ROLES)
def test_accounts_are_read_only_without_the_token(role: str) -> None:
    reading = [st for st in statements(role) if st["Sid"] == "ReadAccountsWithoutTokens"]
    assert len(reading) == 1
    (st,) = reading
    cond = st["Condition"]
    assert cond["ForAllValues:StringEquals"]["dynamodb:Attributes"] == list(PUBLIC_ATTRIBUTES)
    assert "token_ciphertext" not in PUBLIC_ATTRIBUTES
    assert cond["StringEquals"] == {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}
    # no other statement names the accounts table
    others = [s for s in statements(role) if s is not st and "AccountsTable" in str(s["Resource"])]
    assert others == []


@pytest.mark.parametrize("role", ["PosterPolicy", "AdminPolicy"])
def test_hashtag_pools_are_read_without_the_facebook_token(role: str) -> None:
    reads = [s for s in statements(role) if "HashtagsTable" in str(s["Resource"])
             and {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:Scan"} & set(as_list(s["Action"]))]
    assert len(reads) == 1
    cond = reads[0]["Condition"]
    assert cond["ForAllValues:StringEquals"]["dynamodb:Attributes"] == list(POOL_ATTRIBUTES)
    assert "token_ciphertext" not in POOL_ATTRIBUTES
    assert cond["StringEquals"] == {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}


def test_roles_are_nested_viewer_in_poster_in_admin() -> None:
    viewer, poster, admin = (actions(r) for r in ROLES)
    assert viewer < poster < admin
    assert "dynamodb:PutItem" in admin - poster  # invites
    assert "states:StartExecution" in poster - viewer
    assert not any(a.startswith(("lambda:", "states:", "s3:")) for a in viewer)


def test_uploads_only_under_the_uploads_prefix() -> None:
    for role in ("PosterPolicy", "AdminPolicy"):
        (st,) = [s for s in statements(role) if s["Sid"] == "UploadMedia"]
        assert st["Action"] == "s3:PutObject"
        assert st["Resource"] == {"!Sub": "${MediaBucket.Arn}/uploads/*"}


def test_each_policy_is_an_output() -> None:
    outputs = template()["Outputs"]
    for role in ROLES:
        assert outputs[f"{role}Arn"]["Value"] == {"!Ref": role}
