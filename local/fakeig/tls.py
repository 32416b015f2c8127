"""One verified TLS context per process for the fake's outgoing HTTP (media fetches, webhook and Meta callback
deliveries) and its clients: httpx builds a new one for every client (loading the CA bundle, ~15 ms), which
the fake's many short-lived clients paid again and again."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
