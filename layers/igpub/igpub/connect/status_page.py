"""The data deletion status page (``GET /instagram/data-deletion/status?code=...``): what Meta's data
deletion callback answers with (``{"url": ..., "confirmation_code": ...}``) leads the person here. It must
be readable by a person and give a legitimate reason for any refusal:
https://developers.facebook.com/docs/apps/delete-data
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from igpub.repositories.deletions import RETENTION_DAYS, DeletionRequest

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>Data deletion request - {title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}}
h1{{font-size:1.4rem}} .done{{color:#17803d}} .refused,.unknown{{color:#b42318}} .pending{{color:#8a5a00}}
dt{{font-weight:600}} code{{font-size:.95rem}}</style></head>
<body><h1 class="{css}" id="status">{title}</h1><p id="detail">{body}</p>
<dl><dt>Confirmation code</dt><dd><code id="code">{code}</code></dd>{rows}</dl></body></html>
"""


def _when(epoch: int | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC") if epoch else ""


def render(request: DeletionRequest | None, code: str) -> tuple[int, str]:
    """(HTTP status, HTML) for the request with ``code`` (None: unknown or expired)."""
    rows: list[tuple[str, str]] = []
    if request is None:
        title, css, status = "Unknown confirmation code", "unknown", 404
        body = ("No data deletion request has this confirmation code. Check the code you were given; records "
                f"of finished requests are kept {RETENTION_DAYS} days.")
    else:
        rows.append(("Received", _when(request.requested_at)))
        if request.status == "received":
            title, css, status = "Request received", "pending", 200
            body = ("Your request to delete the data this app received from Meta about you has been received. "
                    "Deletion starts within minutes.")
        elif request.status == "in_progress":
            title, css, status = "Deletion in progress", "pending", 200
            body = "The data this app received from Meta about you is being deleted."
            rows.append(("Started", _when(request.started_at)))
        elif request.status == "done":
            title, css, status = "Deletion complete", "done", 200
            body = ("The data this app received from Meta about you has been deleted: your account's access token "
                    "and profile, comments and notifications about you, insights and hashtag search data. "
                    "Records of posts the team published keep only the team's own text and dates, without "
                    "anything that identifies you.")
            rows.append(("Completed", _when(request.completed_at)))
        else:
            title, css, status = "Deletion refused", "refused", 200
            body = f"This request was not carried out. Reason: {request.reason or 'not given'}"
            rows.append(("Decided", _when(request.completed_at)))
    html_rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows if v)
    return status, _PAGE.format(title=escape(title), css=css, body=escape(body), code=escape(code[:64]), rows=html_rows)
