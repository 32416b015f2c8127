"""The data deletion status page as the person sees it, in a real browser (headless Chromium, Debian's
`chromium`, driven by Playwright): the link igpub's data deletion answer gives Meta
(https://developers.facebook.com/docs/apps/delete-data) opens a readable page that says what happened to the
request, and later that the deletion is complete, with the time."""

from __future__ import annotations

import re
import time
from typing import Any

from igpub.connect import deauthorize
from igpub_cli.api import list_accounts
from igpub_cli.deployment import Deployment
from igpub_cli.disconnect import callback_deps, refuse_deletion
from igpub_cli.local import FakeInstagram, walk_connect_flow
from tests.e2e.test_browser_connect_e2e import artifacts_on_failure, page  # noqa: F401 (the fixture)
from tests.e2e.test_deauthorize_e2e import _forget_deletion_requests  # noqa: F401 (the module's clean-up)


def _registered(dep: Deployment, fake: FakeInstagram) -> None:
    fake.config(deauthorize_callback_url=dep.output("DeauthorizeCallbackUrl"),
                data_deletion_callback_url=dep.output("DataDeletionRequestUrl"))


def test_the_status_page_shows_the_request_until_it_is_done(
    dep: Deployment, fake: FakeInstagram, page: Any  # noqa: F811
) -> None:
    _registered(dep, fake)
    assert walk_connect_flow(dep).status_code == 200
    answer = fake.request_deletion("igpub_demo")["answer"]
    with artifacts_on_failure(page, "deletion-status"):
        deadline = time.monotonic() + 120
        while True:
            page.goto(answer["url"])
            status = page.locator("#status").inner_text()
            assert status in ("Request received", "Deletion in progress", "Deletion complete"), status
            if status == "Deletion complete" or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert status == "Deletion complete"
        assert page.title() == "Data deletion request - Deletion complete"
        assert page.locator("#code").inner_text() == answer["confirmation_code"]
        assert "has been deleted" in page.locator("#detail").inner_text()
        body = page.locator("body").inner_text()
        assert re.search(r"Completed\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", body), body
        assert "igpub_demo" not in page.content()  # the page never names the person


def test_the_status_page_gives_the_reason_of_a_refusal_and_knows_no_stranger_code(
    dep: Deployment, fake: FakeInstagram, page: Any  # noqa: F811
) -> None:
    assert walk_connect_flow(dep).status_code == 200
    account = next(a for a in list_accounts(dep) if a.username == "igpub_demo")
    # a request opened without starting the deletion (as the callback does before its asynchronous start),
    # then refused by the operator with a justification
    request = deauthorize.request_deletion(callback_deps(dep), account.account_id, source="operator", now=time.time())
    refused = refuse_deletion(dep, request.code, "records of this account are under a legal hold until 2027-06-30")
    assert refused is not None and refused.status == "refused"
    url = f"{dep.output('DataDeletionStatusUrl')}?code={request.code}"
    with artifacts_on_failure(page, "deletion-refused"):
        page.goto(url)
        assert page.locator("#status").inner_text() == "Deletion refused"
        assert "legal hold until 2027-06-30" in page.locator("#detail").inner_text()
        response = page.goto(dep.output("DataDeletionStatusUrl") + "?code=NOTACODE")
        assert response is not None and response.status == 404
        assert page.locator("#status").inner_text() == "Unknown confirmation code"
