"""Response models: both shapes where Meta is inconsistent; secrets never in reprs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from igpub.instagram.models import (
    ContainerStatus,
    FacebookPage,
    FacebookToken,
    HashtagMedia,
    HashtagSearchResult,
    LongLivedToken,
    Me,
    Media,
    PublishingLimit,
    ShortLivedToken,
    Usage,
)

TOKEN = "IGAAsecret-token-value-123"


def test_short_lived_documented_shape() -> None:
    tok = ShortLivedToken.model_validate(
        {
            "data": [
                {
                    "access_token": TOKEN,
                    "user_id": "1020",
                    "permissions": "instagram_business_basic,instagram_business_content_publish",
                }
            ]
        }
    )
    assert tok.user_id == "1020"
    assert tok.permissions == ["instagram_business_basic", "instagram_business_content_publish"]
    assert tok.access_token.get_secret_value() == TOKEN


def test_short_lived_flat_shape() -> None:
    tok = ShortLivedToken.model_validate(
        {"access_token": TOKEN, "user_id": 27640875392278831, "permissions": ["instagram_business_basic"]}
    )
    assert tok.user_id == "27640875392278831"  # no float rounding
    assert tok.permissions == ["instagram_business_basic"]


@pytest.mark.parametrize(
    "model",
    [
        ShortLivedToken.model_validate({"access_token": TOKEN, "user_id": 1}),
        LongLivedToken.model_validate({"access_token": TOKEN, "token_type": "bearer", "expires_in": 5183944}),
        FacebookToken.model_validate({"access_token": TOKEN}),
        FacebookPage.model_validate({"id": "1", "name": "P", "access_token": TOKEN}),
    ],
)
def test_tokens_never_leak(model: object) -> None:
    for text in (repr(model), str(model), model.model_dump_json()):  # type: ignore[attr-defined]
        assert TOKEN not in text


def test_me_flat_and_wrapped() -> None:
    flat = Me.model_validate({"id": "1", "user_id": 17841400000, "username": "u", "account_type": "Business"})
    wrapped = Me.model_validate({"data": [{"id": 1, "user_id": "17841400000", "username": "u"}]})
    assert flat.user_id == wrapped.user_id == "17841400000"
    assert wrapped.id == "1"
    assert wrapped.account_type is None


def test_publishing_limit_flattened() -> None:
    lim = PublishingLimit.model_validate(
        {"data": [{"quota_usage": 2, "config": {"quota_total": 50, "quota_duration": 86400}}]}
    )
    assert (lim.quota_usage, lim.quota_total, lim.quota_duration, lim.remaining) == (2, 50, 86400, 48)


def test_container_status() -> None:
    st = ContainerStatus.model_validate({"status_code": "FINISHED", "id": "17889615691921648"})
    assert st.status_code == "FINISHED" and st.status is None
    with pytest.raises(ValueError, match="status_code"):
        ContainerStatus.model_validate({"status_code": "WEIRD", "id": "1"})


def test_media_and_hashtag_timestamps() -> None:
    media = Media.model_validate({"id": "1", "timestamp": "2019-09-26T22:36:43+0000", "permalink": "p"})
    expected = datetime(2019, 9, 26, 22, 36, 43, tzinfo=UTC)
    assert media.timestamp == expected
    assert HashtagMedia.model_validate({"id": "2", "timestamp": 1569537403}).timestamp == expected
    assert (
        HashtagMedia.model_validate({"id": "2", "timestamp": "2019-09-26T22:36:43+0000"}).timestamp
        == expected
    )


def test_hashtag_search_both_shapes() -> None:
    assert (
        HashtagSearchResult.model_validate({"data": [{"id": "17843857450040591"}]}).id == "17843857450040591"
    )
    assert HashtagSearchResult.model_validate({"id": 17843857450040591}).id == "17843857450040591"


def test_facebook_token_expires_variants() -> None:
    assert FacebookToken.model_validate({"access_token": TOKEN, "expires_in": 10}).expires_in == 10
    assert FacebookToken.model_validate({"access_token": TOKEN, "expires": 20}).expires_in == 20
    assert FacebookToken.model_validate({"access_token": TOKEN}).expires_in is None


def test_facebook_page() -> None:
    page = FacebookPage.model_validate(
        {"id": "134895793791914", "name": "M", "instagram_business_account": {"id": "17841405309211844"}}
    )
    assert page.instagram_business_account is not None
    assert page.instagram_business_account.id == "17841405309211844"


def test_usage_from_headers() -> None:
    usage = Usage.from_headers(
        {
            "x-app-usage": '{"call_count":28,"total_time":25,"total_cputime":25}',
            "X-Business-Use-Case-Usage": '{"1784":[{"type":"instagram","call_count":12,"total_cputime":93,'
            '"total_time":4,"estimated_time_to_regain_access":3}],"99":[{"type":"pages","call_count":1}]}',
        }
    )
    assert usage.present
    assert usage.app is not None and usage.app.call_count == 28
    assert {b.object_id for b in usage.business} == {"1784", "99"}
    assert usage.max_pct == 93
    assert usage.regain_after_s == 180


def test_usage_tolerates_garbage() -> None:
    assert not Usage.from_headers({"x-app-usage": "not json", "x-business-use-case-usage": "[1]"}).present
    assert not Usage.from_headers({}).present
