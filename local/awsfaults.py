"""A fault proxy between the deployed Lambdas and the AWS emulator (the local stack only).

It forwards every request to the emulator, and for the requests a rule matches it answers instead with
what AWS answers under stress: a throttling error, an HTTP 500, or the real answer delivered too late
(the request was applied, the response arrives after the client's read timeout). Rules fire at a seeded
rate, or for the first N matching requests (deterministic, for tests).

    proxy = AwsFaultProxy(emulator_url, [FaultRule(service="dynamodb", fault="throttle", rate=0.1)], seed=1)
    proxy.start()
    with attached(lambda_client, function_name, proxy.url, services=("dynamodb", "kms")):
        ...   # the function's boto3 clients now call the proxy (AWS_ENDPOINT_URL_<SERVICE>)

Which API a request is for comes from its ``X-Amz-Target`` header (DynamoDB, KMS and Secrets Manager
speak JSON-RPC: ``DynamoDB_20120810.PutItem``, ``TrentService.Decrypt``, ``secretsmanager.GetSecretValue``).
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

__all__ = ["AwsFaultProxy", "FaultRule", "attached", "endpoint_variables"]

Fault = Literal["throttle", "http_500", "delay"]

_TARGET_SERVICES = {"DynamoDB_20120810": "dynamodb", "TrentService": "kms", "secretsmanager": "secretsmanager"}
# boto3 reads a per-service endpoint from AWS_ENDPOINT_URL_<SERVICE ID> before AWS_ENDPOINT_URL
_ENV_NAMES = {"dynamodb": "AWS_ENDPOINT_URL_DYNAMODB", "kms": "AWS_ENDPOINT_URL_KMS",
              "secretsmanager": "AWS_ENDPOINT_URL_SECRETS_MANAGER"}
_THROTTLE = {
    "dynamodb": (
        "com.amazonaws.dynamodb.v20120810#ThrottlingException",
        "Rate of requests exceeds the allowed throughput.",
    ),
    "kms": ("ThrottlingException", "Rate exceeded"),
    "secretsmanager": ("ThrottlingException", "Rate exceeded"),
}
_SERVER_ERROR = {
    "dynamodb": ("com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error"),
    "kms": ("KMSInternalException", "An internal error occurred"),
    "secretsmanager": ("InternalServiceError", "An internal error occurred"),
}


class FaultRule(BaseModel):
    """``service`` (dynamodb, kms, secretsmanager or *), optionally an ``operation`` (PutItem) and a
    ``table`` (a DynamoDB table name, or a part of it); ``times`` fires on the first N matches, ``rate``
    on that share of them (seeded)."""

    model_config = ConfigDict(extra="forbid")

    service: str = "*"
    operation: str | None = None
    table: str | None = None
    fault: Fault
    rate: float = 0.0
    times: int | None = None
    delay_s: float = 12.0  # longer than igpub's 10 s read timeout: the answer is lost, the request applied

    def matches(self, service: str, operation: str, table: str | None) -> bool:
        if self.service not in ("*", service):
            return False
        if self.operation is not None and self.operation != operation:
            return False
        return self.table is None or (table is not None and self.table in table)


class AwsFaultProxy:
    def __init__(self, upstream: str, rules: Sequence[FaultRule] = (), *, seed: int = 0, port: int = 0) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self._rules = list(rules)
        self._used: Counter[int] = Counter()  # fired count per rule (for `times`)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.fired: Counter[str] = Counter()  # "throttle dynamodb.PutItem" -> n
        self.requests: Counter[str] = Counter()  # "dynamodb.PutItem" -> n
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def set_rules(self, rules: Sequence[FaultRule]) -> None:
        with self._lock:
            self._rules = list(rules)
            self._used.clear()

    def start(self) -> AwsFaultProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="aws-fault-proxy",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever, which must have started
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def decide(self, service: str, operation: str, table: str | None) -> FaultRule | None:
        """The rule that fires for this request, if any (counts it)."""
        with self._lock:
            self.requests[f"{service}.{operation}"] += 1
            for i, rule in enumerate(self._rules):
                if not rule.matches(service, operation, table):
                    continue
                if rule.times is not None:
                    if self._used[i] >= rule.times:
                        continue
                elif self._rng.random() >= rule.rate:
                    continue
                self._used[i] += 1
                self.fired[f"{rule.fault} {service}.{operation}"] += 1
                return rule
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _relay(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.headers.get("x-amz-target") or ""
                prefix, _, operation = target.partition(".")
                service = _TARGET_SERVICES.get(prefix, "other")
                table: str | None = None
                if service == "dynamodb" and body:
                    try:
                        table = json.loads(body).get("TableName")
                    except (ValueError, AttributeError):
                        table = None
                rule = proxy.decide(service, operation or self.command, table)
                if rule is not None and rule.fault in ("throttle", "http_500"):
                    kind, message = (_THROTTLE if rule.fault == "throttle" else _SERVER_ERROR).get(
                        service, ("ServiceUnavailable", "Service unavailable")
                    )
                    status = 400 if rule.fault == "throttle" else 500
                    self._answer(status, json.dumps({"__type": kind, "message": message}).encode(),
                                 [("Content-Type", "application/x-amz-json-1.0")])
                    return
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=120)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    out = [(k, v) for k, v in resp.getheaders()
                           if k.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive")]
                finally:
                    conn.close()
                if rule is not None and rule.fault == "delay":
                    time.sleep(rule.delay_s)  # applied upstream; the client has given up by now
                self._answer(resp.status, data, out)

            def _answer(self, status: int, data: bytes, headers: list[tuple[str, str]]) -> None:
                try:
                    self.send_response(status)
                    for k, v in headers:
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay

        return Handler


def endpoint_variables(url: str, services: Sequence[str]) -> dict[str, str]:
    return {_ENV_NAMES[s]: url for s in services}


@contextmanager
def attached(lambda_client: Any, function_name: str, url: str, *, services: Sequence[str] = ("dynamodb", "kms")
             ) -> Iterator[None]:
    """Point ``function_name``'s boto3 clients for ``services`` at the proxy; restore its environment after."""
    config = lambda_client.get_function_configuration(FunctionName=function_name)
    # never keep an endpoint override: one left by a run that was killed before it restored the function
    # would point it at a proxy that no longer exists
    original = {k: v for k, v in config.get("Environment", {}).get("Variables", {}).items()
                if k not in _ENV_NAMES.values()}
    patched = {**original, **endpoint_variables(url, services)}
    lambda_client.update_function_configuration(FunctionName=function_name, Environment={"Variables": patched})
    try:
        yield
    finally:
        lambda_client.update_function_configuration(FunctionName=function_name, Environment={"Variables": original})
