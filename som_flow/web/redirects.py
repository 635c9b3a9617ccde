"""Where a page may send the browser next: only a path on this site, whatever a form or link says."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import request


def _suspicious(text: str) -> bool:
    # browsers drop tabs and newlines and read "\" as "/" in URLs, so "/\t/evil" and "/\evil" reach evil
    return any(c == "\\" or c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def safe_next(target: str | None, fallback: str) -> str:
    """`target` if it is a same-site relative path (checked as a browser would read it), else `fallback`."""
    if not target or _suspicious(target):
        return fallback
    parts = urlsplit(target)
    path = unquote(parts.path)
    # "//host", "///host" and "/%2F%2Fhost" (decoded by some proxies and servers) name another site
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or path.startswith("//") or _suspicious(path)):
        return fallback
    return target


RETURN_TO = "som_flow.return_to"


def return_to(url: str) -> None:
    """Where a refused form of this request goes back to when it carries no `next` (the edge handler reads it).
    Kept in the request's environ, not `g`: an app context may outlive one request (tests, embedded use)."""
    request.environ[RETURN_TO] = url


def back(fallback: str = "/") -> str:
    """The page a form goes back to: its hidden `next` (checked), else the view's `return_to`, else `fallback`.
    The Referer header is never trusted."""
    return safe_next(request.form.get("next"), request.environ.get(RETURN_TO) or fallback)
