"""The fake Instagram application: one object that answers every Meta host by path prefix.

``create_app()`` returns a :class:`FakeApp`; :mod:`fakeig.server` puts it behind a
``ThreadingHTTPServer`` (which can drop a connection without answering and sleep past a client
timeout, both needed for fault injection).
"""

from __future__ import annotations

import logging

from fakeig import cdn, containers, control, graph, oauth, usage
from fakeig.config import FakeConfig
from fakeig.context import FakeState
from fakeig.faults import FaultRule
from fakeig.http import GraphError, OAuthError, Request, Response, parse_request, redact_params
from fakeig.state import CallRecord

log = logging.getLogger("fakeig")

GRAPH_HOSTS = ("graph.instagram.com", "graph.facebook.com")
KNOWN_HOSTS = (
    "www.instagram.com",
    "api.instagram.com",
    "graph.instagram.com",
    "graph.facebook.com",
    "www.facebook.com",
    "rupload.facebook.com",
    "cdn",
)
MAX_CALLS_KEPT = 20_000


class FakeApp(FakeState):
    """The fake's state plus the routing of every Meta host (and the fault rules applied on the way)."""

    # ------------------------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        parse_request(req)
        if req.host == "_fake":
            try:
                return control.handle(self, req)
            except GraphError as exc:
                return exc.response()
        with self.store.lock:
            rule = self.faults.pick(req.host, req.method, req.route)
        record = CallRecord(
            seq=0,
            host=req.host,
            method=req.method,
            path=req.path,
            route=req.route,
            params=redact_params(req.params),
            status=None,
            time=self.now(),
            fault=rule.kind if rule else None,
        )
        resp = self._handle_with_fault(req, rule)
        record.status = "dropped" if resp.drop else resp.status
        with self.store.lock:
            record.seq = next(self.store.call_seq)
            self.store.calls.append(record)
            if len(self.store.calls) > MAX_CALLS_KEPT:
                del self.store.calls[: len(self.store.calls) - MAX_CALLS_KEPT]
        return resp

    def _handle_with_fault(self, req: Request, rule: FaultRule | None) -> Response:
        if rule is None:
            return self._route(req)
        kind = rule.kind
        if kind == "drop_before":
            return Response(drop=True)
        if kind == "timeout":
            self.stop_event.wait(rule.seconds)
            if rule.hang:
                return Response(drop=True)
            return self._route(req)
        if kind == "drop_after":
            resp = self._route(req)
            resp.drop = True
            return resp
        if rule.after:  # Instagram acts; the answer below hides it
            acted = self._route(req)
            log.info("fake instagram: %s acted (%s) before a %s fault", req.route, acted.status, kind)
        if kind == "empty":  # a 2xx without a body
            status = rule.http_status if 200 <= rule.http_status < 300 else 200
            return Response(status=status, body=b"", content_type="application/json; charset=UTF-8")
        if kind == "http_500":
            return GraphError(
                rule.code or 1,
                rule.message or "An unknown error has occurred.",
                rule.subcode,
                is_transient=True if rule.is_transient is None else rule.is_transient,
                http_status=500,
            ).response()
        if kind == "http_503":
            return Response(
                status=503, body=b"Service Unavailable", content_type="text/html; charset=utf-8"
            )
        if kind == "transient_read":
            object_id = req.route.strip("/").split("/")[0]
            err = GraphError(
                100,
                f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded "
                "due to missing permissions, or does not support this operation. Please read the Graph "
                "API documentation at https://developers.facebook.com/docs/graph-api",
                33,
                type_="GraphMethodException",
                is_transient=bool(rule.is_transient),
            )
            return err.response()
        if kind == "throttle":
            code = rule.code or self.config.throttle_code
            return usage.throttle_error(code, rule.message, rule.http_status).response()
        # graph_error
        return GraphError(
            rule.code if rule.code is not None else 1,
            rule.message or "An unknown error has occurred.",
            rule.subcode,
            is_transient=bool(rule.is_transient),
            http_status=rule.http_status,
        ).response()

    def _route(self, req: Request) -> Response:
        try:
            host, route = req.host, req.route
            if host == "cdn":
                return cdn.handle_cdn(req)
            if host in ("www.instagram.com", "api.instagram.com") and route == "/oauth/authorize":
                return oauth.ig_authorize(self, req)
            if host == "api.instagram.com" and route == "/oauth/access_token":
                return oauth.ig_exchange_code(self, req)
            if host == "www.facebook.com" and route == "/dialog/oauth":
                return oauth.fb_dialog(self, req)
            if host in GRAPH_HOSTS:
                return graph.handle(self, req)
            if host == "rupload.facebook.com":
                return containers.rupload(self, req)
            return Response.json({"error": f"unknown fake host or path: /{host}{req.path}"}, status=404)
        except GraphError as exc:
            return exc.response()
        except OAuthError as exc:
            return exc.response()
        except Exception:  # a bug in the fake: answer like Meta's unknown error, log it
            log.exception("fake instagram: unhandled error on %s %s", req.method, req.host + req.route)
            return GraphError(1, "An unknown error has occurred.", is_transient=True, http_status=500).response()


def create_app(config: FakeConfig | None = None) -> FakeApp:
    return FakeApp(config)
