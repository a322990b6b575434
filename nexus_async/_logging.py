"""Keep signed-URL signatures out of logs.

httpx logs every request URL at INFO (``HTTP Request: PUT https://...?X-Goog-Signature=...``).
A signed URL is a bearer credential until it expires, so the SDK installs a filter on the
``httpx`` logger that replaces the values of signature-like query parameters with ``REDACTED``
before any handler sees them. The filter touches nothing else.
"""

from __future__ import annotations

import logging
import os
import re

__all__ = ["configure_from_env", "install_signature_redaction", "redact_signatures"]

LOG_ENV = "NEXUS_LOG"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}

_SIGNATURE_PARAMS = re.compile(
    r"(?i)\b(x-goog-signature|x-amz-signature|x-goog-credential|x-amz-credential"
    r"|signature|sig|token)=([^&\s\"']+)"
)


def redact_signatures(text: str) -> str:
    """``text`` with the values of signature query parameters replaced by ``REDACTED``."""
    return _SIGNATURE_PARAMS.sub(r"\1=REDACTED", text)


class _RedactSignatures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_signatures(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_FILTER = _RedactSignatures()


def install_signature_redaction() -> None:
    """Add the redacting filter to the ``httpx`` logger (idempotent)."""
    logger = logging.getLogger("httpx")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


def configure_from_env() -> None:
    """``NEXUS_LOG=debug|info|warning`` (as ``ANTHROPIC_LOG`` does): log the SDK's own records
    at that level to stderr, without configuring anything else. Unset, nothing is touched and
    the application's logging configuration decides. Idempotent.

    Example: ``NEXUS_LOG=debug python service.py`` shows every request with its status and time.
    """
    level = _LEVELS.get(os.environ.get(LOG_ENV, "").strip().lower())
    if level is None:
        return
    logger = logging.getLogger("nexus_async")
    logger.setLevel(level)
    if not any(getattr(h, "_nexus_log", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._nexus_log = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
