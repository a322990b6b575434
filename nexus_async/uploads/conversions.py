"""Running an upload session's medical conversions off the event loop, one at a time.

:class:`MedicalConverter` is owned by one :class:`~nexus_async.uploads.UploadSession`. Each
conversion (``uploads/medical.py``: a DICOM file to a PNG or MP4, a NIfTI volume to MP4s) runs
in a worker thread; at most ``MEDICAL_CONVERSIONS_AT_ONCE`` (1) run at once, so a folder of
volumes holds one volume in memory at a time. Outputs go to a temporary folder made on the
first conversion and removed by :meth:`MedicalConverter.aclose`, which the session calls on
every way out of its block (success, error, cancellation). A conversion whose caller is
cancelled is told to stop (it checks before every frame) and removes its own files; the caller
waits for that at most ``CLEANUP_TIMEOUT`` seconds, so cancellation stays prompt.

Nothing here imports the ``[medical]`` extra: :func:`require_medical_extra` checks it (in a
worker thread, as the first import of PyAV and nibabel takes a while) and the conversion code is
imported in the worker thread.

Example::

    converter = MedicalConverter()
    try:
        files = await converter.convert(Path("ct.nii.gz"), "ct.nii.gz", MedicalFormat.NIFTI,
                                        axes=("x", "y", "z"))
    finally:
        await converter.aclose()
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from nexus_async._constants import (
    CLEANUP_TIMEOUT,
    MEDICAL_CONVERSIONS_AT_ONCE,
    MEDICAL_EXTRA_INSTALL,
    MEDICAL_EXTRA_MODULES,
)
from nexus_async._exceptions import InvalidInputError, MissingExtraError
from nexus_async.uploads.mime import KIND_MAX_SIZE, AssetKind, MedicalFormat, file_extension

if TYPE_CHECKING:
    from nexus_async.uploads.medical import ConvertedFile

__all__ = ["ConversionStopped", "MedicalConverter", "medical_stem", "require_medical_extra"]


class ConversionStopped(InvalidInputError):
    """A conversion was told to stop: its caller was cancelled or the session closed."""

    def __init__(self) -> None:
        super().__init__("the upload session stopped this conversion (cancelled or closed)")


def medical_stem(filename: str) -> str:
    """The name a converted asset is named after: ``filename`` without its extension
    (``.nii.gz`` counting as one).

    Example::

        medical_stem("brain.nii.gz")  # "brain"
    """
    extension = file_extension(filename)
    return filename[: len(filename) - len(extension)] if extension else filename


def _check_modules() -> None:
    missing = []
    for module in MEDICAL_EXTRA_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise MissingExtraError(
            f"DICOM and NIfTI files are converted to PNG/MP4 assets, which needs "
            f"{', '.join(missing)}: {MEDICAL_EXTRA_INSTALL}",
            extra="medical",
        )


async def require_medical_extra() -> None:
    """Raise :class:`~nexus_async.MissingExtraError` unless the ``[medical]`` extra is
    installed (imports it in a worker thread).

    Example::

        await require_medical_extra()  # MissingExtraError: ... pip install "nexus-async[medical]"
    """
    await anyio.to_thread.run_sync(_check_modules)


class MedicalConverter:
    """Converts medical files into a temporary folder; :meth:`aclose` removes it.

    Example::

        converter = MedicalConverter()
        [png] = await converter.convert(b"...", "xray.dcm", MedicalFormat.DICOM)
        png.path.name  # "xray.png", until converter.aclose()
    """

    def __init__(self, *, concurrency: int = MEDICAL_CONVERSIONS_AT_ONCE) -> None:
        self._concurrency = concurrency
        self._limiter: anyio.Semaphore | None = None  # made on the event loop, when first used
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._root: Path | None = None
        self._closed = False
        self._running: set[threading.Event] = set()

    @property
    def root(self) -> Path | None:
        """The temporary folder, once a conversion made it (None after :meth:`aclose`)."""
        return self._root

    # --- in the worker thread ------------------------------------------------------------

    def _start(self, stop: threading.Event) -> Path:
        """Register a conversion; its own folder inside the root (made on first use)."""
        with self._lock:
            if self._closed or stop.is_set():
                raise ConversionStopped
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="nexus-async-medical-"))
            self._running.add(stop)
            return Path(tempfile.mkdtemp(dir=self._root))

    def _finish(self, stop: threading.Event) -> None:
        with self._lock:
            self._running.discard(stop)
            self._changed.notify_all()

    def _run(
        self,
        source: Path | bytes,
        filename: str,
        kind: MedicalFormat,
        axes: Sequence[str],
        stop: threading.Event,
    ) -> list[ConvertedFile]:
        from nexus_async.uploads.medical import convert_medical_file

        def check() -> None:
            if stop.is_set():
                raise ConversionStopped

        folder = self._start(stop)
        try:
            if isinstance(source, bytes):
                (folder / "input").mkdir()
                path = folder / "input" / filename
                path.write_bytes(source)
            else:
                path = source
            converted = convert_medical_file(
                kind,
                path,
                folder,
                medical_stem(filename),
                axes=axes,
                stop=check,
                max_video_size=KIND_MAX_SIZE[AssetKind.VIDEO],
                name=filename,
            )
            if isinstance(source, bytes):
                shutil.rmtree(folder / "input")
            return converted
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            self._finish(stop)

    def _remove_root(self) -> None:
        """Blocking: stop every conversion, wait for them (bounded), remove the folder."""
        with self._lock:
            self._closed = True
            for stop in self._running:
                stop.set()
            self._changed.wait_for(lambda: not self._running, timeout=CLEANUP_TIMEOUT)
            root, self._root = self._root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    # --- on the event loop ------------------------------------------------------------------

    async def convert(
        self,
        source: Path | bytes,
        filename: str,
        kind: MedicalFormat,
        *,
        axes: Sequence[str] = ("x", "y", "z"),
    ) -> list[ConvertedFile]:
        """Convert one file (a path, or its bytes named ``filename``) in a worker thread.

        Raises what the conversion raises (:class:`~nexus_async.UnsupportedFileError`,
        :class:`~nexus_async.FileTooLargeError`). Cancelled, it tells the conversion to stop
        and waits at most ``CLEANUP_TIMEOUT`` seconds for it before the cancellation goes on.
        """
        if self._limiter is None:
            self._limiter = anyio.Semaphore(self._concurrency)
        stop = threading.Event()
        done = threading.Event()

        def job() -> list[ConvertedFile]:
            try:
                return self._run(source, filename, kind, axes, stop)
            finally:
                done.set()

        async with self._limiter:
            try:
                return await anyio.to_thread.run_sync(job, abandon_on_cancel=True)
            except anyio.get_cancelled_exc_class():
                stop.set()
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(done.wait, CLEANUP_TIMEOUT)
                raise

    async def aclose(self) -> None:
        """Stop what still runs and remove the temporary folder; shielded from cancellation,
        bounded by ``CLEANUP_TIMEOUT`` for the conversions to stop (idempotent)."""
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._remove_root)
