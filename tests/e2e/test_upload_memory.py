"""Memory stays bounded by concurrency x chunk size, whatever the file sizes.

The emulator runs in its own process so that only the SDK's memory is measured; a thread
samples this process's resident set size while a 512 MiB file goes up in parts and a 300 MiB
file goes up in one streamed request.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from nexus_async import AsyncClient
from nexus_async.testing import EmulatorServer
from tests.media import png_bytes

MiB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakSampler:
    """Samples RSS every few milliseconds in a thread; ``peak`` is the highest seen."""

    def __init__(self) -> None:
        self.peak = resident_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, resident_bytes())

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def sparse_file(path: Path, size: int, head: bytes) -> Path:
    with open(path, "wb") as file:
        file.write(head)
        file.truncate(size)
    return path


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
async def test_uploading_large_files_keeps_memory_growth_under_64_mib(tmp_path: Path) -> None:
    video_head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    multipart = sparse_file(tmp_path / "big.mp4", 512 * MiB, video_head)
    single = sparse_file(tmp_path / "long.mov", 300 * MiB, video_head)
    with EmulatorServer(mode="subprocess", cli_args=["--no-rate-limit"]) as server:
        async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
            project = client.get_project(server.project_id or "")
            settings = {
                "multipart_threshold": 400 * MiB,
                "max_concurrency": 8,
                "part_concurrency": 4,
            }
            async with project.assets.create_upload_session(**settings) as warmup:
                await warmup.add_bytes(png_bytes(4, 4), "warmup.png")  # imports, pools, TLS-free
            baseline = resident_bytes()
            with PeakSampler() as sampler:
                async with project.assets.create_upload_session(**settings) as session:
                    await session.add_path(multipart)
                    await session.add_path(single)
            growth = sampler.peak - baseline
            assert (await project.assets.get("big.mp4")).metadata.file_size == 512 * MiB
            assert (await project.assets.get("long.mov")).metadata.file_size == 300 * MiB
            stats = server.control.stats()
    assert stats["created"]["multipart_uploads"] == 1
    assert stats["storage"]["checksum_failures"] == 0
    print(f"peak RSS growth while uploading 812 MiB: {growth / MiB:.1f} MiB")
    assert growth < 64 * MiB
