"""The steps both OAuth callbacks share (igpub.connect.login)."""

from __future__ import annotations

from typing import Any

import pytest

from igpub.connect import facebook_login, login, oauth
from igpub.instagram.errors import OAuthError
from igpub.repositories.states import OAuthState


class States:
    def __init__(self, flow: str, expires_at: int = 2_000) -> None:
        self.saved = {"s1": OAuthState("s1", flow, 0, expires_at)}

    def consume(self, state: str) -> OAuthState | None:
        return self.saved.pop(state, None)


def _code(provider: login.Provider, states: Any, params: dict[str, str]) -> str:
    return login.authorization_code(provider, states, params, now=1_000)


@pytest.mark.parametrize("provider", [oauth.PROVIDER, facebook_login.PROVIDER])
@pytest.mark.parametrize("raw", ["abc", "abc#_", "abc#_=_"])
def test_the_code_comes_without_metas_fragment(provider: login.Provider, raw: str) -> None:
    assert _code(provider, States(provider.flow), {"state": "s1", "code": raw}) == "abc"


def test_a_state_is_single_use_and_bound_to_its_login() -> None:
    states = States("instagram")
    with pytest.raises(login.CallbackProblem, match="not valid"):
        _code(facebook_login.PROVIDER, states, {"state": "s1", "code": "c"})
    with pytest.raises(login.CallbackProblem, match="not valid"):  # consumed by the first try
        _code(oauth.PROVIDER, states, {"state": "s1", "code": "c"})
    with pytest.raises(login.CallbackProblem, match="expired"):
        _code(oauth.PROVIDER, States("instagram", expires_at=999), {"state": "s1", "code": "c"})


def test_refusals_name_the_provider() -> None:
    with pytest.raises(login.CallbackProblem) as refused:
        _code(facebook_login.PROVIDER, States("facebook"), {"state": "s1", "error": "access_denied"})
    assert refused.value.title == "Facebook access was not granted"
    assert refused.value.detail.endswith("hashtag discovery stays off for now.")
    with pytest.raises(login.CallbackProblem, match="No authorization code"):
        _code(oauth.PROVIDER, States("instagram"), {"state": "s1", "code": "#_"})


class AppSettingsRefused(OAuthError):
    @property
    def is_configuration_error(self) -> bool:
        return True


def test_a_refused_exchange_says_whose_fault_it_is() -> None:
    with pytest.raises(login.CallbackProblem) as problem, login.exchange_problems(oauth.PROVIDER):
        raise AppSettingsRefused("Error validating client secret")
    assert problem.value.status == 502 and problem.value.title == "igpub's Instagram app settings are wrong"
    with pytest.raises(login.CallbackProblem) as problem, login.exchange_problems(facebook_login.PROVIDER):
        raise OAuthError("This authorization code has been used")
    assert problem.value.status == 400 and problem.value.title == "Facebook refused the sign-in"
    assert problem.value.detail == "This authorization code has been used. Start again."
