"""Writing 8-bit frames to the files medical conversions upload: PNG images, H.264 MP4 videos.

A frame is a numpy ``uint8`` array, ``(rows, cols)`` grey or ``(rows, cols, 3)`` RGB. The PNG
writer needs nothing but zlib; the MP4 writer uses PyAV (FFmpeg's libraries, from the
``[medical]`` extra), which also scales each frame to the video's size (swscale, bicubic).
Blocking code: the upload session runs it in a worker thread.

Example::

    write_png(Path("ct.png"), frame)
    with Mp4Writer(Path("ct.mp4"), width=256, height=192, max_size=limit) as video:
        for frame in frames:
            video.write(frame)
    video.frames  # how many were written
"""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
import numpy.typing as npt

from nexus_async._constants import (
    MEDICAL_VIDEO_CODECS,
    MEDICAL_VIDEO_FPS,
    MEDICAL_X264_OPTIONS,
)
from nexus_async._exceptions import FileTooLargeError

__all__ = ["Frame", "Mp4Writer", "png_bytes", "write_png"]

Frame = npt.NDArray[np.uint8]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_GREY, _PNG_RGB = 0, 2


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(frame: Frame) -> bytes:
    """An 8-bit PNG (grey, or RGB for ``(rows, cols, 3)`` frames) of ``frame``.

    Example::

        png_bytes(np.zeros((2, 3), np.uint8))[:8]  # b"\\x89PNG\\r\\n\\x1a\\n"
    """
    rows, cols = frame.shape[:2]
    colour = _PNG_GREY if frame.ndim == 2 else _PNG_RGB
    scanlines = np.zeros((rows, 1 + frame[0].size), np.uint8)  # each row: filter 0, then pixels
    scanlines[:, 1:] = frame.reshape(rows, -1)
    header = struct.pack(">IIBBBBB", cols, rows, 8, colour, 0, 0, 0)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6)),
            _png_chunk(b"IEND", b""),
        )
    )


def write_png(path: Path, frame: Frame) -> None:
    """Write ``frame`` as a PNG file at ``path``.

    Example::

        write_png(Path("out/slice.png"), frame)
    """
    path.write_bytes(png_bytes(frame))


def _encoder_name() -> str:
    for name in MEDICAL_VIDEO_CODECS:
        try:
            av.codec.Codec(name, "w")
        except (ValueError, av.FFmpegError):  # not in this FFmpeg build
            continue
        return name
    raise RuntimeError(f"PyAV's FFmpeg has none of the encoders {MEDICAL_VIDEO_CODECS}")


class Mp4Writer:
    """An MP4 video (H.264, 4:2:0, ``MEDICAL_VIDEO_FPS`` frames per second) written frame by
    frame; every frame is scaled to ``width`` x ``height`` (even numbers, as 4:2:0 needs).

    Raises :class:`~nexus_async.FileTooLargeError` as soon as the file grows past
    ``max_size`` bytes (the caller removes the partial file).

    Example::

        with Mp4Writer(Path("axis.mp4"), width=64, height=48, max_size=2**30) as video:
            video.write(np.zeros((24, 32), np.uint8))
    """

    def __init__(
        self, path: Path, *, width: int, height: int, max_size: int, fps: int = MEDICAL_VIDEO_FPS
    ) -> None:
        if width % 2 or height % 2 or width <= 0 or height <= 0:
            raise ValueError(f"video frames must have even sizes, not {width}x{height}")
        self.path = path
        self.width = width
        self.height = height
        self.frames = 0
        self._encoded = 0  # bytes of encoded packets so far (the file lags behind, buffered)
        self._max_size = max_size
        self._time_base = Fraction(1, fps)
        self._container: av.container.OutputContainer | None = av.open(str(path), "w", format="mp4")
        try:
            codec = _encoder_name()
            stream = self._container.add_stream(codec, rate=fps)
            if not isinstance(stream, av.VideoStream):
                raise TypeError(f"{codec} is not a video encoder")
            self._stream = stream
            self._stream.width = width
            self._stream.height = height
            self._stream.pix_fmt = "yuv420p"
            self._stream.time_base = self._time_base
            self._stream.codec_context.thread_type = "AUTO"
            if codec == "libx264":
                self._stream.options = dict(MEDICAL_X264_OPTIONS)
        except BaseException:
            self._container.close()
            self._container = None
            raise

    def write(self, frame: Frame) -> None:
        """Encode one frame (grey or RGB, any size: it is scaled)."""
        if self._container is None:
            raise ValueError(f"{self.path.name}: the video is closed")
        image = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(frame), format="gray" if frame.ndim == 2 else "rgb24"
        )
        scaled = image.reformat(
            width=self.width, height=self.height, format="yuv420p", interpolation="BICUBIC"
        )
        scaled.pts = self.frames
        scaled.time_base = self._time_base
        self._mux(self._container, scaled)
        self.frames += 1

    def _mux(self, container: av.container.OutputContainer, frame: av.VideoFrame | None) -> None:
        """Encode ``frame`` (None: flush) and mux its packets, counting their bytes."""
        for packet in self._stream.encode(frame):
            self._encoded += packet.size
            container.mux(packet)
        self._check_size(self._encoded)

    def _check_size(self, size: int) -> None:
        if size > self._max_size:
            raise FileTooLargeError(
                f"{self.path.name} would be over {self._max_size} bytes, the limit of video "
                f"assets (after {self.frames} frames)",
                path=self.path.name,
                limit=self._max_size,
            )

    def close(self) -> None:
        """Flush the encoder and finish the file (idempotent)."""
        if self._container is None:
            return
        container, self._container = self._container, None
        try:
            self._mux(container, None)
        finally:
            container.close()
        self._check_size(self.path.stat().st_size)  # with the container's own boxes

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        elif self._container is not None:
            container, self._container = self._container, None
            container.close()
