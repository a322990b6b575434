"""The SDK's logging: records on the ``nexus_async`` logger, and the ``NEXUS_LOG`` switch.

The SDK changes no logger it does not own. Signed-URL signatures never reach a log record: the
SDK's own records carry redacted URLs only, and storage transfers never go through an
``httpx.AsyncClient`` (whose INFO line on the ``httpx`` logger has the full URL), so nothing
needs filtering afterwards. API calls do go through one; their URLs carry no credential.
"""

from __future__ import annotations

import logging
import os

__all__ = ["configure_from_env"]

LOG_ENV = "NEXUS_LOG"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


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
