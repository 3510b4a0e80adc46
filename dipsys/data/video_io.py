"""Video I/O through OpenCV: a video file or a folder of frames ↔ a (T, C, H, W) tensor.

A video is read either from a file OpenCV can decode (``cv2.VideoCapture``: mp4, avi, mov, ...)
or from a folder of image files taken in natural order (``frame2.png`` before ``frame10.png``).
Results are written as one PNG per frame, ``<folder>/<index, zero-padded>.png``, plus an H.264
mp4 that browsers play (through PyAV, whose wheels bundle FFmpeg with libx264; OpenCV's MPEG-4
Part 2 ``mp4v`` where PyAV or its encoder is missing) and a small looping GIF preview.
"""

from __future__ import annotations

import logging
import os
import re
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from dipsys.data.io import IMAGE_SUFFIXES, read_image, read_mask, to_uint8, write_image
from dipsys.errors import InputError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv"}


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def frame_files(folder: str | os.PathLike) -> list[Path]:
    """The image files of a folder of frames, in natural order.

    Raises:
        InputError: the folder is missing or holds no image file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"folder of frames not found: {folder}")
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise InputError(f"no image frames in folder {folder}")
    return sorted(files, key=_natural_key)


def _read_video_file(path: Path) -> torch.Tensor:
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        supported = ", ".join(sorted(VIDEO_SUFFIXES))
        raise InputError(
            f"unsupported video type '{path.suffix}' ({path}); use a folder of frames or one of "
            f"{supported}"
        )
    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while capture.isOpened():
            ok, frame = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            frames.append(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255.0)
    finally:
        capture.release()
    if not frames:
        raise InputError(f"cannot decode video (corrupt, empty or unsupported codec): {path}")
    return torch.stack(frames)


def read_video(path: str | os.PathLike, masks: bool = False) -> torch.Tensor:
    """Read a video file or a folder of frames.

    Args:
        path: a video file, or a folder of same-size image frames.
        masks: read each frame as one gray channel (masks, hints) instead of RGB.

    Raises:
        InputError: the path is missing, the folder holds no frame, the file cannot be decoded,
            or the frames differ in size.

    Shape:
        - Output: :math:`(T, 3, H, W)` in [0, 1], or :math:`(T, 1, H, W)` with ``masks``
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"video not found: {path}")
    if path.is_file():
        video = _read_video_file(path)
        return video.mean(dim=1, keepdim=True) if masks else video
    read = read_mask if masks else read_image
    frames = []
    for file in frame_files(path):
        frame = read(file)
        if frames and frame.shape != frames[0].shape:
            h, w = frame.shape[-2:]
            h0, w0 = frames[0].shape[-2:]
            raise InputError(f"frame {file} is {w}×{h} but the first frame is {w0}×{h0}")
        frames.append(frame)
    return torch.stack(frames)


def write_frames(folder: str | os.PathLike, video: torch.Tensor) -> list[Path]:
    """Write each frame as ``<folder>/<index>.png``, indices zero-padded to a common width.

    Shape:
        - video: :math:`(T, C, H, W)` in [0, 1], C = 1 or 3
    """
    digits = max(3, len(str(video.shape[0] - 1)))
    return [write_image(Path(folder) / f"{i:0{digits}d}.png", f) for i, f in enumerate(video)]


def _even(video: torch.Tensor) -> torch.Tensor:
    """Frames padded by their last row/column to even sides (4:2:0 chroma needs them)."""
    height, width = video.shape[-2:]
    return F.pad(video, (0, width % 2, 0, height % 2), mode="replicate")


def _rgb_frames(video: torch.Tensor) -> list[np.ndarray]:
    return [np.ascontiguousarray(to_uint8(frame.expand(3, -1, -1))) for frame in video]


def _write_h264(path: Path, video: torch.Tensor, fps: float) -> None:
    """H.264 (yuv420p, ``+faststart``) through PyAV; raises when PyAV or libx264 is missing."""
    import av

    frames = _rgb_frames(_even(video))
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "medium"}
        for array in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")))
        out.mux(stream.encode())


def _write_mp4v(path: Path, video: torch.Tensor, fps: float) -> None:
    """MPEG-4 Part 2 through OpenCV (plays in desktop players, not in browsers)."""
    height, width = video.shape[-2:]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"could not open a video writer for {path}")
    try:
        for array in _rgb_frames(video):
            writer.write(cv2.cvtColor(array, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def write_video(path: str | os.PathLike, video: torch.Tensor, fps: float = 8.0) -> Path:
    """Write frames as an H.264 mp4 (``mp4v`` when H.264 is unavailable), atomically.

    Odd sides are padded by one replicated row/column for H.264.

    Shape:
        - video: :math:`(T, C, H, W)` in [0, 1], C = 1 or 3
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        _write_h264(tmp, video, fps)
    except Exception as error:  # no PyAV, or an FFmpeg build without libx264
        log.warning("H.264 unavailable (%s); %s is written as mp4v", error, path.name)
        _write_mp4v(tmp, video, fps)
    os.replace(tmp, path)
    return path


def write_gif(
    path: str | os.PathLike, video: torch.Tensor, fps: float = 8.0, side: int = 256
) -> Path:
    """A looping GIF preview, its longer side at most ``side`` pixels, atomically.

    Shape:
        - video: :math:`(T, C, H, W)` in [0, 1], C = 1 or 3
    """
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = video.shape[-2:]
    scale = min(1.0, side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    frames = [Image.fromarray(a).resize(size, Image.Resampling.LANCZOS) for a in _rgb_frames(video)]
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    frames[0].save(
        tmp,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=round(1000 / fps),
        loop=0,
    )
    os.replace(tmp, path)
    return path


def write_layer_video(layers_dir: str | os.PathLike, name: str, video: torch.Tensor) -> None:
    """One video layer as ``<layers_dir>/<name>/<index>.png``, ``<name>.mp4`` and ``<name>.gif``."""
    write_frames(Path(layers_dir) / name, video)
    write_video(Path(layers_dir) / f"{name}.mp4", video)
    write_gif(Path(layers_dir) / f"{name}.gif", video)
