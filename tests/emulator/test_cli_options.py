"""Command-line options of ``python -m nexus_async.emulator`` that shape its configuration."""

from __future__ import annotations

import httpx
import pytest

from nexus_async.emulator import EmulatorConfig, ManualClock
from nexus_async.emulator.__main__ import build_parser, config_from_args

from .conftest import create_session


@pytest.fixture
def config() -> EmulatorConfig:
    """The configuration the CLI builds for a 3 s upload-session window."""
    return config_from_args(build_parser().parse_args(["--session-window-s", "3"]))


def test_session_window_option_sets_the_window_and_keeps_the_limit_on(
    config: EmulatorConfig,
) -> None:
    assert config.rate_limit.enabled
    assert config.rate_limit.window_ms == 3000
    assert config.rate_limit.max_sessions == 15
    fractional = config_from_args(build_parser().parse_args(["--session-window-s", "0.25"]))
    assert fractional.rate_limit.window_ms == 250
    default = config_from_args(build_parser().parse_args([]))
    assert default.rate_limit.window_ms == 300_000


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf", "three"])
def test_session_window_option_refuses_non_positive_or_non_numbers(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--session-window-s", bad])
    assert "--session-window-s" in capsys.readouterr().err


async def test_scaled_window_admits_the_16th_session_once_the_window_passed(
    client: httpx.AsyncClient, pid: str, clock: ManualClock
) -> None:
    for _ in range(15):
        assert (await create_session(client, pid, {"a.png": b"1"})).status_code == 200
        clock.advance(100)
    refused = await create_session(client, pid, {"a.png": b"1"})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"  # the first session leaves the window at 3 s
    clock.advance(1499)
    assert (await create_session(client, pid, {"a.png": b"1"})).status_code == 429
    clock.advance(1)  # 3,000 ms after the first creation: it no longer counts
    assert (await create_session(client, pid, {"a.png": b"1"})).status_code == 200
    assert (await create_session(client, pid, {"a.png": b"1"})).status_code == 429
