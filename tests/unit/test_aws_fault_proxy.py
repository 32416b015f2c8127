"""The AWS fault proxy of the local stack (local/awsfaults.py), against a stand-in emulator."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from igpub.repositories.aws import transient_aws_error
from local.awsfaults import AwsFaultProxy, FaultRule, attached, endpoint_variables


class Upstream:
    """Answers every DynamoDB call with an empty item and every KMS Decrypt with a plaintext."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                target = self.headers.get("x-amz-target") or ""
                upstream.seen.append(target)
                body = {"Plaintext": "c2VjcmV0", "KeyId": "k"} if target.startswith("TrentService") else {}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    up = Upstream()
    yield up
    up.server.shutdown()


def clients(url: str, read_timeout: float = 5) -> tuple[Any, Any]:
    cfg = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=read_timeout, connect_timeout=2)
    kw: dict[str, Any] = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "test",
                          "aws_secret_access_key": "test", "config": cfg}
    return boto3.client("dynamodb", **kw), boto3.client("kms", **kw)


def test_forwards_when_no_rule_fires(upstream: Upstream) -> None:
    proxy = AwsFaultProxy(upstream.url).start()
    try:
        ddb, kms = clients(proxy.url)
        assert ddb.get_item(TableName="posts", Key={"post_id": {"S": "1"}}).get("Item") is None
        assert kms.decrypt(CiphertextBlob=b"x")["Plaintext"] == b"secret"
        assert upstream.seen == ["DynamoDB_20120810.GetItem", "TrentService.Decrypt"]
        assert proxy.requests == {"dynamodb.GetItem": 1, "kms.Decrypt": 1}
        assert not proxy.fired
    finally:
        proxy.stop()


def test_times_rules_throttle_and_fail_the_first_matches(upstream: Upstream) -> None:
    rules = [
        FaultRule(service="dynamodb", operation="PutItem", table="Posts", fault="http_500", times=2),
        FaultRule(service="kms", fault="throttle", times=1),
    ]
    proxy = AwsFaultProxy(upstream.url, rules).start()
    try:
        ddb, kms = clients(proxy.url)
        put = {"TableName": "igpub-PostsTable-1", "Item": {"post_id": {"S": "1"}}}
        for _ in range(2):
            with pytest.raises(ClientError) as info:
                ddb.put_item(**put)
            assert info.value.response["Error"]["Code"] == "InternalServerError"
            assert transient_aws_error(info.value) == "PutItem: InternalServerError"
        ddb.put_item(**put)  # the third one passes
        ddb.put_item(TableName="other", Item={"k": {"S": "1"}})  # another table: never matched
        with pytest.raises(ClientError) as info:
            kms.decrypt(CiphertextBlob=b"x")
        assert info.value.response["Error"]["Code"] == "ThrottlingException"
        assert transient_aws_error(info.value) == "Decrypt: ThrottlingException"
        kms.decrypt(CiphertextBlob=b"x")
        assert proxy.fired == {"http_500 dynamodb.PutItem": 2, "throttle kms.Decrypt": 1}
        assert upstream.seen.count("DynamoDB_20120810.PutItem") == 2  # faults never reach the emulator
    finally:
        proxy.stop()


def test_rates_are_seeded() -> None:
    def fired(seed: int) -> list[bool]:
        proxy = AwsFaultProxy("http://127.0.0.1:9", [FaultRule(fault="throttle", rate=0.3)], seed=seed)
        out = [proxy.decide("dynamodb", "GetItem", "t") is not None for _ in range(200)]
        proxy.stop()
        return out

    a, b = fired(7), fired(7)
    assert a == b and 30 < sum(a) < 90
    assert fired(8) != a


def test_delay_applies_the_request_and_loses_the_answer(upstream: Upstream) -> None:
    proxy = AwsFaultProxy(upstream.url, [FaultRule(service="dynamodb", fault="delay", delay_s=2, times=1)]).start()
    try:
        ddb, _ = clients(proxy.url, read_timeout=0.5)
        with pytest.raises(ReadTimeoutError) as info:
            ddb.put_item(TableName="posts", Item={"post_id": {"S": "1"}})
        assert transient_aws_error(info.value) is not None
        assert upstream.seen == ["DynamoDB_20120810.PutItem"]  # it reached the emulator
    finally:
        proxy.stop()


def test_attached_points_a_function_at_the_proxy_and_restores_it() -> None:
    class Lambda:
        def __init__(self) -> None:
            self.env: dict[str, str] = {"IGPUB_X": "1"}
            self.history: list[dict[str, str]] = []

        def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
            return {"Environment": {"Variables": dict(self.env)}}

        def update_function_configuration(self, FunctionName: str, Environment: dict[str, Any]) -> None:
            self.env = dict(Environment["Variables"])
            self.history.append(self.env)

    fn = Lambda()
    with attached(fn, "publisher", "http://127.0.0.1:1234", services=("dynamodb", "kms")):
        assert fn.env == {"IGPUB_X": "1", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:1234",
                          "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:1234"}
    assert fn.env == {"IGPUB_X": "1"}
    fn.env["AWS_ENDPOINT_URL_KMS"] = "http://127.0.0.1:9"  # left behind by a killed run
    with attached(fn, "publisher", "http://127.0.0.1:1234", services=("dynamodb",)):
        assert fn.env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:1234"
    assert fn.env == {"IGPUB_X": "1"}
    assert endpoint_variables("u", ["secretsmanager"]) == {"AWS_ENDPOINT_URL_SECRETS_MANAGER": "u"}
