"""Keep a signed URL's credential (its query string) out of exceptions and logs."""

from __future__ import annotations

import re
import urllib.parse

from nexus_async._constants import STORAGE_ERROR_BODY_CHARS

__all__ = ["error_detail", "redact_url", "scrub"]

_URL_PATTERN = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>\"']+")
# A query string left in a message without its URL (some libraries print the path and query).
_QUERY_PATTERN = re.compile(r"\?[^\s<>\"']*[=&][^\s<>\"']*")
_XML_FIELD = re.compile(r"<(Code|Message)>(.*?)</\1>", re.DOTALL)


def redact_url(url: object) -> str:
    """``url`` without its query string, fragment and user info (a signed URL's query carries
    its signature): safe to log or put in an exception.

    Example::

        redact_url("https://storage.example/b/a.png?X-Goog-Signature=abc")
        # "https://storage.example/b/a.png"
    """
    try:
        parts = urllib.parse.urlsplit(str(url))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def scrub(text: str) -> str:
    """``text`` with every URL in it redacted and any other query string removed."""
    text = _URL_PATTERN.sub(lambda match: redact_url(match.group(0)), text)
    return _QUERY_PATTERN.sub("", text)


def error_detail(body: str) -> str:
    """A short, URL-free summary of a storage error body (GCS answers XML ``<Error>``)."""
    fields = dict(_XML_FIELD.findall(body))
    if fields:
        summary = ": ".join(fields[k].strip() for k in ("Code", "Message") if k in fields)
    else:
        summary = " ".join(body.split())
    return scrub(summary)[:STORAGE_ERROR_BODY_CHARS]
