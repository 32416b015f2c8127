"""The small HTML pages the OAuth routes answer with."""

from __future__ import annotations

from html import escape

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>igpub - {title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}}
h1{{font-size:1.4rem}} .ok{{color:#17803d}} .err{{color:#b42318}}</style></head>
<body><h1 class="{css}">{title}</h1><p>{body}</p></body></html>
"""


def page(title: str, body: str, *, ok: bool) -> str:
    return _PAGE.format(title=escape(title), body=escape(body), css="ok" if ok else "err")
