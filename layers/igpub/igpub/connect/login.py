"""The steps that both OAuth callbacks share (Instagram Login in ``igpub.connect.oauth``, Facebook Login in
``igpub.connect.facebook_login``): the single-use state, the authorization dialog URL, the user's answer, and
what a refused or failed code exchange tells the user.

OAuth 2.0 authorization code flow as Meta runs it:
https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login
and https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

from igpub.instagram.client import strip_code
from igpub.instagram.errors import InstagramError, OAuthError
from igpub.observability import logger
from igpub.repositories.states import OAuthState, StateRepository


class CallbackProblem(Exception):
    """A callback that cannot connect an account; becomes an HTML error page."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(f"{title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail


@dataclass(frozen=True)
class Provider:
    """How the messages of one login name its provider and what refusing means."""

    name: str  # "Instagram" / "Facebook"
    flow: str  # the state's flow, so one login's state cannot complete the other
    not_granted: str  # what follows "Nothing was connected" when the user says no
    bad_app_settings: str  # what to check when Meta rejects the app id or secret
    refused_advice: str  # what follows Meta's message when it refuses the code


def authorize_url(
    dialog_url: str, *, client_id: str, redirect_uri: str, scopes: tuple[str, ...] | list[str], state: str
) -> str:
    query = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": ",".join(scopes),
        "state": state,
    }
    return f"{dialog_url}?{urlencode(query)}"


def consume_state(states: StateRepository, params: Mapping[str, str], *, flow: str, now: int) -> OAuthState:
    """Check and consume the single-use state before anything else (no call to Meta without it)."""
    record = states.consume(params.get("state", ""))
    if record is None or record.flow != flow:
        raise CallbackProblem(
            400,
            "This sign-in link is not valid any more",
            "The login session is unknown or was already used. Start again from the connect page.",
        )
    if record.expires_at < now:
        raise CallbackProblem(
            400,
            "This sign-in link has expired",
            "More than 10 minutes passed since you started. Start again from the connect page.",
        )
    return record


def authorization_code(
    provider: Provider, states: StateRepository, params: Mapping[str, str], *, now: int,
    after_state: Callable[[OAuthState], None] = lambda _state: None,
) -> str:
    """The code the user's answer carries, once the state is consumed; the user's refusal otherwise.

    ``after_state`` runs once the state checks out, before anything else (the connect invite is claimed
    there, before any call to Instagram or Meta)."""
    after_state(consume_state(states, params, flow=provider.flow, now=now))
    if params.get("error"):
        reason = params.get("error_description") or params.get("error_reason") or params["error"]
        raise CallbackProblem(
            400,
            f"{provider.name} access was not granted",
            f"{provider.name} said: {reason}. Nothing was connected; {provider.not_granted}",
        )
    code = strip_code(params.get("code", ""))
    if not code:
        raise CallbackProblem(
            400, "No authorization code", f"{provider.name} did not send a code back. Try again."
        )
    return code


@contextmanager
def exchange_problems(provider: Provider) -> Iterator[None]:
    """Turns what the code exchange and the first reads raise into pages a person can act on."""
    try:
        yield
    except OAuthError as exc:
        logger.warning("code exchange refused", extra={"provider": provider.flow, "oauth_error": exc.message})
        if exc.is_configuration_error:
            raise CallbackProblem(
                502, f"igpub's {provider.name} app settings are wrong", provider.bad_app_settings
            ) from exc
        raise CallbackProblem(
            400, f"{provider.name} refused the sign-in", f"{exc.message}. {provider.refused_advice}"
        ) from exc
    except InstagramError as exc:
        logger.warning(
            "call failed during connect", extra={"provider": provider.flow, "code": exc.code, "subcode": exc.subcode}
        )
        raise CallbackProblem(502, f"{provider.name} did not answer as expected", exc.advice) from exc
