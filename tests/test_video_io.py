"""Video outputs a browser plays: H.264 through PyAV, mp4v when it is missing, a GIF preview."""

from __future__ import annotations

import av
import torch
from PIL import Image

from dipsys.data import video_io
from dipsys.data.video_io import write_gif, write_layer_video, write_video


def _moving(frames: int = 6, size: tuple[int, int] = (45, 67)) -> torch.Tensor:
    """A bright bar moving right: every frame differs (odd sides on purpose)."""
    video = torch.zeros(frames, 3, *size)
    for index in range(frames):
        video[index, :, :, 8 * index : 8 * index + 6] = 1.0
    return video


def test_h264_with_the_frame_count_and_duration(tmp_path):
    path = write_video(tmp_path / "clip.mp4", _moving(), fps=6.0)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (68, 46)  # padded to even sides
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert container.duration / 1e6 == 1.0  # 6 frames at 6 fps
    assert len(frames) == 6
    bar = frames[3][20, :67, 0] > 128  # frame 3: the bar at columns 24..29
    assert bar[24:30].all() and not bar[:20].any() and not bar[34:].any()


def test_mp4v_when_h264_is_unavailable(tmp_path, monkeypatch, caplog):
    def no_h264(*args, **kwargs):
        raise ImportError("no PyAV")

    monkeypatch.setattr(video_io, "_write_h264", no_h264)
    path = write_video(tmp_path / "clip.mp4", _moving())
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "mpeg4"  # MPEG-4 Part 2, OpenCV's mp4v
        assert len(list(container.decode(stream))) == 6
    assert "H.264 unavailable" in caplog.text


def test_gif_preview_loops_every_frame_at_a_small_size(tmp_path):
    path = write_gif(tmp_path / "clip.gif", _moving(size=(300, 600)), fps=5.0, side=256)
    with Image.open(path) as gif:
        assert gif.n_frames == 6 and gif.size == (256, 128)
        assert gif.info["loop"] == 0 and gif.info["duration"] == 200


def test_a_video_layer_is_frames_mp4_and_gif(tmp_path):
    write_layer_video(tmp_path, "clean", _moving())
    assert len(list((tmp_path / "clean").glob("*.png"))) == 6
    assert (tmp_path / "clean.mp4").is_file() and (tmp_path / "clean.gif").is_file()
    assert not list(tmp_path.glob(".*"))  # no temporary file left
