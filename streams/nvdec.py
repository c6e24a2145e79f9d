"""NVDEC decoding through NVIDIA's PyNvVideoCodec (`decode_device: cuda`).

PyAV still opens and demuxes the source (RTSP over TCP with its timeouts, the key flag, timestamps);
NVDEC decodes the packets on the GPU, and each picture comes back to the CPU as an NV12 `av.VideoFrame`,
so the picture screen, the sampler and the one colour conversion (`DecodedFrame.to_bgr`) are the same
for both decoders. PyNvVideoCodec is imported when such a decoder is built, never otherwise: it is an
optional package and needs an NVIDIA driver. No GPU was lent where this was written: the NVDEC calls
follow PyNvVideoCodec's programming guide and are run by `scripts/gpu_check.sh` on a GPU machine; the
Annex B filtering and the NV12 frames are tested here with PyAV alone.
"""

from __future__ import annotations

import ctypes
from typing import Any

import av
import av.bitstream
import numpy as np

# PyNvVideoCodec's codec names for the stream codecs NVDEC is given here (cameras send H.264 or H.265).
NVDEC_CODECS = {"h264": "H264", "hevc": "HEVC"}
# NVDEC reads Annex B (start codes); MP4 files hold length-prefixed NAL units. The filters pass
# Annex B input (RTSP) through unchanged.
ANNEXB_FILTERS = {"h264": "h264_mp4toannexb", "hevc": "hevc_mp4toannexb"}


def annexb_filter(stream: av.VideoStream) -> av.bitstream.BitStreamFilterContext:
    """A filter turning the stream's packets into Annex B, for the codecs NVDEC is given here."""
    name = stream.codec_context.name
    if name not in ANNEXB_FILTERS:
        raise ValueError(f"NVDEC decodes {sorted(ANNEXB_FILTERS)} here, not {name!r}")
    return av.bitstream.BitStreamFilterContext(ANNEXB_FILTERS[name], stream)


def nv12_frame(nv12: np.ndarray, pts: int | None, time_base: Any, key: bool) -> av.VideoFrame:
    """An NV12 picture (height * 3/2 rows: luma, then interleaved chroma) as a PyAV frame with the
    timing and key flag of the packet it came from."""
    frame = av.VideoFrame.from_ndarray(nv12, format="nv12")
    frame.pts, frame.time_base = pts, time_base
    frame.key_frame = key  # type: ignore[misc]  # PyAV's stubs say read-only; PyAV sets it
    return frame


class NvdecDecoder:
    """Decodes one stream's packets on GPU 0 of those this process sees (CUDA_VISIBLE_DEVICES picks it,
    one process per GPU); called like `packet.decode()`, it returns the pictures a packet completes."""

    def __init__(self, stream: av.VideoStream, keyframes_only: bool) -> None:
        import PyNvVideoCodec as nvc  # optional; checked by streams.decoder_choice before this is built

        self._filter = annexb_filter(stream)
        self._nvc: Any = nvc
        codec = getattr(nvc.cudaVideoCodec, NVDEC_CODECS[stream.codec_context.name])
        # Host memory: the frames are read back into NV12 arrays for the CPU stages.
        self._decoder: Any = nvc.CreateDecoder(gpuid=0, codec=codec, usedevicememory=False)
        self._time_base = stream.time_base
        self._keyframes_only = keyframes_only

    def __call__(self, packet: av.Packet[av.VideoStream]) -> list[av.VideoFrame]:
        if packet.size == 0:  # the demuxer's last, empty packet: NVDEC hands out the pictures it holds
            return self._decode(self._nvc.PacketData(), key=False)
        key = packet.is_keyframe  # read first: the filter takes the packet's data and flags
        if self._keyframes_only and not key:
            return []
        frames = []
        for annexb in self._filter.filter(packet):
            data = bytes(annexb)
            buffer = ctypes.create_string_buffer(data, len(data))  # kept alive until Decode has read it
            packet_data = self._nvc.PacketData()
            packet_data.bsl_data, packet_data.bsl = ctypes.addressof(buffer), len(data)
            packet_data.pts = annexb.pts if annexb.pts is not None else 0
            frames += self._decode(packet_data, key)
        return frames

    def _decode(self, packet_data: Any, key: bool) -> list[av.VideoFrame]:
        """The pictures NVDEC completes with this packet, copied out of its buffers as NV12 frames. The
        key flag is the packet's: exact for the I/P-frame streams cameras send (no reordering)."""
        frames = []
        for decoded in self._decoder.Decode(packet_data):
            # Known once the decoder has parsed the stream's parameters, i.e. after its first picture.
            width, height = self._decoder.GetWidth(), self._decoder.GetHeight()
            plane = (ctypes.c_uint8 * (width * height * 3 // 2)).from_address(decoded.GetPtrToPlane(0))
            nv12 = np.frombuffer(plane, np.uint8).reshape(height * 3 // 2, width).copy()  # the decoder reuses it
            frames.append(nv12_frame(nv12, int(decoded.timestamp), self._time_base, key))
        return frames
