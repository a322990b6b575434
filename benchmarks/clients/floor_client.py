"""The floor: the smallest correct client of the same protocol, with the same concurrency.

httpx + anyio, no validation, no retries, no progress: CRC-32C every file (one thread hop per
file), create one server session, PUT each file to its signed URL with the issued headers
(``concurrency`` transfers in flight over httpx clients of 4 connections each, the
layout nexus_async's asset uploads use), send files above ``multipart_threshold`` in parts
(``part_concurrency`` at once, each part read into memory), then poll the operation every
``poll_interval`` seconds until it is ``Finished``. It shows what the emulator itself allows.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import sys
from pathlib import Path
from typing import Any

import _common

MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".mp4": "video/mp4"}
CONNECTIONS_PER_CLIENT = 4
MAX_POLLS = 100_000


def import_sdk() -> Any:
    """Import what the floor needs.

    httpcore imports ``sniffio`` on every request and, when it is absent, searches sys.path
    each time; the floor records its absence once, as nexus_async's StorageClient does.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
    importlib.import_module("anyio")
    return importlib.import_module("httpx")


def _files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path])
    return files


def _crc32c(path: Path) -> int:
    crc32c = importlib.import_module("google_crc32c")
    checksum = crc32c.Checksum()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            checksum.update(chunk)
    return int.from_bytes(checksum.digest(), "big")


def _signed(value: int) -> int:
    return value - 2**32 if value >= 2**31 else value


def _read_range(path: Path, offset: int, length: int) -> bytes:
    with path.open("rb") as stream:
        stream.seek(offset)
        return stream.read(length)


async def upload(spec: dict[str, Any]) -> list[str]:
    """The whole protocol; returns the operation id."""
    anyio = importlib.import_module("anyio")
    httpx = importlib.import_module("httpx")
    _common.mark_first("t_add_path")
    files = _files(spec["paths"])
    threshold, concurrency = spec["multipart_threshold"], spec["concurrency"]
    limiter = anyio.CapacityLimiter(concurrency)
    sizes = [path.stat().st_size for path in files]
    crcs = [0] * len(files)

    async def checksum(index: int) -> None:
        if sizes[index] <= threshold:
            crcs[index] = await anyio.to_thread.run_sync(_crc32c, files[index], limiter=limiter)

    async with anyio.create_task_group() as group:
        for index in range(len(files)):
            group.start_soon(checksum, index)
    items = [
        {"filename": p.name, "size": s, "crc32c": _signed(c), "mime": MIME[p.suffix.lower()]}
        for p, s, c in zip(files, sizes, crcs, strict=True)
    ]
    project = f"/projects/{spec['project_id']}"
    timeout = httpx.Timeout(600.0, pool=None)
    shards = -(-concurrency // CONNECTIONS_PER_CLIENT)
    per_shard = httpx.Limits(
        max_connections=CONNECTIONS_PER_CLIENT, max_keepalive_connections=CONNECTIONS_PER_CLIENT
    )
    api = httpx.AsyncClient(
        base_url=spec["base_url"], headers={"Secret-Key": spec["secret_key"]}, timeout=timeout
    )
    storage = [httpx.AsyncClient(limits=per_shard, timeout=timeout) for _ in range(shards)]
    try:
        response = await api.post(
            f"{project}/assetuploadsessions", json={"groups": ["main"], "assets": items}
        )
        response.raise_for_status()
        session = response.json()
        work = iter(enumerate(session["assets"]))

        async def send_part(
            client: Any, mpu: str, number: int, path: Path, span: tuple[int, int]
        ) -> None:
            part = await api.put(f"{project}/multipartassetuploads/{mpu}/parts/{number}")
            part.raise_for_status()
            target = part.json()
            body = await anyio.to_thread.run_sync(_read_range, path, *span)
            stored = await client.request(
                target["method"], target["url"], content=body, headers=target.get("headers")
            )
            stored.raise_for_status()
            echo = {name: stored.headers.get(name, "") for name in target["responseHeaders"]}
            done = await api.post(
                f"{project}/multipartassetuploads/{mpu}/parts/{number}/complete",
                json={"responseHeaders": echo},
            )
            done.raise_for_status()

        async def send_multipart(client: Any, index: int) -> None:
            path, size = files[index], sizes[index]
            created = await api.post(
                f"{project}/assetuploadsessions/{session['id']}/multipart",
                json={"filename": path.name, "mime": items[index]["mime"], "size": size},
            )
            created.raise_for_status()
            mpu, count = created.json()["id"], created.json()["partCount"]
            part_size = size // count
            spans = [
                (i * part_size, (size if i == count - 1 else (i + 1) * part_size) - i * part_size)
                for i in range(count)
            ]
            parts = iter(enumerate(spans, start=1))

            async def part_worker() -> None:
                for number, span in parts:
                    await send_part(client, mpu, number, path, span)

            async with anyio.create_task_group() as group:
                for _ in range(spec["part_concurrency"]):
                    group.start_soon(part_worker)
            finished = await api.post(f"{project}/multipartassetuploads/{mpu}/complete")
            finished.raise_for_status()

        async def worker(client: Any) -> None:
            for index, asset in work:
                if sizes[index] > threshold:
                    await send_multipart(client, index)
                    continue
                body = await anyio.to_thread.run_sync(files[index].read_bytes)
                upload = asset["upload"]
                stored = await client.request(
                    upload["method"], upload["url"], content=body, headers=upload["headers"]
                )
                stored.raise_for_status()

        async with anyio.create_task_group() as group:
            for slot in range(concurrency):
                group.start_soon(worker, storage[slot % shards])
        op_id = session["opId"]
        for _ in range(MAX_POLLS):
            operation = await api.get(f"{project}/operations/{op_id}")
            operation.raise_for_status()
            overview = operation.json()["status"]["overview"]
            if overview == "Finished":
                return [op_id]
            if overview in ("Errored", "Cancelled"):
                raise RuntimeError(f"operation {op_id} ended {overview}")
            await anyio.sleep(spec["poll_interval"])
        raise RuntimeError(f"operation {op_id} still running after {MAX_POLLS} polls")
    finally:
        for client in itertools.chain([api], storage):
            await client.aclose()


def main() -> None:
    """Run the workload named by the spec."""
    spec = _common.read_spec()
    if spec["workload"] == "import":
        _common.emit(_common.measure_import(import_sdk))
        return
    import_sdk()
    anyio = importlib.import_module("anyio")
    _common.emit(_common.measure_upload(lambda: anyio.run(upload, spec)))


if __name__ == "__main__":
    main()
