"""Settings come from IGPUB_* environment variables, validated by pydantic (no pydantic-settings)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from igpub.config import Settings, get_settings


def test_reads_prefixed_variables_whatever_their_case_and_converts_types() -> None:
    s = Settings.from_env({
        "IGPUB_ACCOUNTS_TABLE": "acc",
        "igpub_posts_table": "posts",
        "IGPUB_STATUS_POLL_INTERVAL_S": "7",
        "IGPUB_HTTP_TIMEOUT_S": "2.5",
        "IGPUB_ALLOW_HTTP_MEDIA": "true",
        "IGPUB_NOT_A_SETTING": "ignored",
        "ACCOUNTS_TABLE": "not prefixed",
    })
    assert (s.accounts_table, s.posts_table) == ("acc", "posts")
    assert s.status_poll_interval_s == 7 and s.http_timeout_s == 2.5 and s.allow_http_media is True
    assert not hasattr(s, "not_a_setting")
    assert s.usage_table == "igpub-usage"  # the default when unset


def test_overrides_win_and_constraints_still_hold() -> None:
    assert Settings.from_env({"IGPUB_MEDIA_BUCKET": "a"}, media_bucket="b").media_bucket == "b"
    with pytest.raises(ValidationError):
        Settings.from_env({"IGPUB_HASHTAGS_PER_POST": "31"})  # Instagram allows 30
    with pytest.raises(ValidationError):
        Settings.from_env({"IGPUB_MAX_STATUS_CHECKS": "many"})


def test_get_settings_reads_the_process_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("IGPUB_KMS_KEY_ID", "key-from-env")
    get_settings.cache_clear()
    try:
        assert get_settings().kms_key_id == "key-from-env"
    finally:
        get_settings.cache_clear()


def test_no_pydantic_settings_on_the_cold_path() -> None:
    import subprocess
    import sys

    code = "import sys, igpub.config; print('pydantic_settings' in sys.modules, 'asyncio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
