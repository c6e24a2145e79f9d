"""Decoder selection without a GPU: the CPU picks PyAV, CUDA is refused with the reason (no GPU here, or
no PyNvVideoCodec) naming the camera and the field, and what the NVDEC path does with PyAV alone — the
Annex B packets it would send, and its NV12 pictures going through the same screen and colour conversion."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from streams.decode import DecodedFrame, iter_decoded
from streams.decoder_choice import DecodeDevice, DecoderUnavailable, nvdec_missing, packet_decoder, pyav_decode
from streams.frame import DecodePolicy
from streams.nvdec import annexb_filter, nv12_frame
from streams.screen import DropCounts, PictureScreen
from streams.source import SourceSettings

ANNEXB_START = (b"\0\0\0\1", b"\0\0\1")


def no_gpu_here() -> None:
    if nvdec_missing() is None:
        pytest.skip("this machine can decode with NVDEC")


def test_the_cpu_picks_pyav(bike_clip: Path) -> None:
    with av.open(str(bike_clip)) as container:
        assert packet_decoder(DecodeDevice.CPU, container.streams.video[0], keyframes_only=True) is pyav_decode
        frames = list(iter_decoded(container, DecodePolicy.KEYFRAMES, None, device=DecodeDevice.CPU))
    assert len(frames) == 4 and all(f.keyframe for f in frames)  # 4 s, a keyframe a second


def test_what_nvdec_lacks_here(tmp_path: Path) -> None:
    no_gpu_here()
    assert nvdec_missing(tmp_path) == f"no NVIDIA GPU on this machine (no {tmp_path / 'nvidia0'})"
    (tmp_path / "nvidia0").touch()  # a device node's name: the GPU check passes, the package check follows
    assert nvdec_missing(tmp_path) == "PyNvVideoCodec is not installed: pip install PyNvVideoCodec (README: GPU)"


def test_cuda_without_nvdec_is_refused_at_decode_and_at_start(bike_clip: Path) -> None:
    no_gpu_here()
    with av.open(str(bike_clip)) as container, pytest.raises(DecoderUnavailable, match="decode_device cuda: "):
        next(iter_decoded(container, DecodePolicy.KEYFRAMES, None, device=DecodeDevice.CUDA))
    with pytest.raises(ValueError, match=r"camera cam-07 \(.*\): decode_device cuda: (no NVIDIA GPU|PyNvVideo)"):
        SourceSettings("cam-07", str(bike_clip), DecodePolicy.KEYFRAMES, decode_device=DecodeDevice.CUDA)


def test_nvdec_gets_annex_b_packets(bike_clip: Path, resize_clip: Path) -> None:
    """An MP4 holds length-prefixed H.264; NVDEC is sent start codes. An MPEG-TS has them already."""
    with av.open(str(bike_clip)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        first = bytes(packets[0])
        annexb = annexb_filter(stream)
        filtered = [bytes(out) for p in packets for out in annexb.filter(p)]
    assert not first.startswith(ANNEXB_START)
    assert len(filtered) == len(packets) and all(data.startswith(ANNEXB_START) for data in filtered)
    with av.open(str(resize_clip)) as container:
        stream = container.streams.video[0]
        packet = next(p for p in container.demux(stream) if p.size)
        data = bytes(packet)  # before filtering: the filter takes the packet's data
        assert data.startswith(ANNEXB_START)
        assert [bytes(out) for out in annexb_filter(stream).filter(packet)] == [data]


def test_an_nvdec_picture_is_screened_and_converted_like_pyav_s(bike_clip: Path) -> None:
    with av.open(str(bike_clip)) as container:
        stream = container.streams.video[0]
        decoded = next(iter_decoded(container, DecodePolicy.KEYFRAMES, None))
        nv12 = decoded.frame.reformat(format="nv12").to_ndarray()  # the layout NVDEC hands back
        frame = nv12_frame(nv12, decoded.frame.pts, stream.time_base, key=True)
    assert (frame.width, frame.height, frame.pts, frame.key_frame) == (320, decoded.frame.height, 0, True)
    assert PictureScreen(DropCounts()).admit(frame, 0.0)
    from_nv12 = DecodedFrame(0.0, True, frame).to_bgr()
    difference = np.abs(from_nv12.astype(int) - decoded.to_bgr().astype(int))
    assert difference.max() <= 2  # the same samples; chroma read from NV12 instead of planar 4:2:0


def test_nvdec_takes_h264_and_hevc_only(tmp_path: Path) -> None:
    clip = tmp_path / "mpeg4.avi"
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height = 64, 48
        for packet in stream.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="bgr24")):
            out.mux(packet)
        out.mux(stream.encode(None))
    with av.open(str(clip)) as container, pytest.raises(ValueError, match="NVDEC decodes .* not 'mpeg4'"):
        annexb_filter(container.streams.video[0])
