#!/usr/bin/python3
"""Serve an H.264 MP4 or MPEG-TS over RTSP, without re-encoding, as a stand-in camera for tests and demos.

Runs under Debian's `/usr/bin/python3`, which has GStreamer's introspection bindings (`gi`):

    /usr/bin/python3 scripts/rtsp_server.py --port 8554 --file clip.mp4 --loop \\
        --user admin --password secret

Prints `READY rtsp://127.0.0.1:PORT/MOUNT` (without credentials) on stdout once listening and
exits cleanly on SIGTERM or SIGINT. `--port 0` picks a free port. An MPEG-TS file may change its
picture size mid-stream, as a camera does when reconfigured; it plays once (tsdemux cannot loop).

`--mounts N` serves the file N times from this one process, at MOUNT01 … MOUNTNN (`/cam01`…), each its
own timeline, for benchmarks with many cameras (one process per camera would cost more than the
cameras). `--stagger-s S` delays mount k's timeline by (k - 1) × S / N, so the keyframes of the
mounts arrive spread over S seconds as real cameras' do, not all at once; the READY line then names
every mount's URL, separated by spaces.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

# Before the subclasses below are registered: their virtual methods take GStreamer types
# (GstMessage) that exist only once GStreamer is initialised.
Gst.init(None)

# config-interval=-1 repeats SPS/PPS before every keyframe, so a client that joins late or
# reconnects can start decoding at the next keyframe (and at a new size after a change).
PIPELINE = ("( filesrc name=src ! {demuxer} name=demux ! h264parse ! "
            "rtph264pay name=pay0 pt=96 config-interval=-1 )")
DEMUXERS = {".mp4": "qtdemux", ".mov": "qtdemux", ".m4v": "qtdemux", ".ts": "tsdemux"}
LOOPING_DEMUXERS = {"qtdemux"}  # take the segment seeks of LoopingMedia; tsdemux refuses them
ROLE = "camera-user"


class LoopingMedia(GstRtspServer.RTSPMedia):
    """Media that plays its file forever: segment seeks back to 0 keep the timeline continuous.

    A non-flushing segment seek on SEGMENT_DONE (instead of a flushing seek on EOS) keeps running
    time and therefore RTP timestamps increasing across the loop, as a real camera's do.
    """

    def do_prepared(self) -> None:
        self._seek(Gst.SeekFlags.FLUSH | Gst.SeekFlags.SEGMENT)

    def do_handle_message(self, message: Gst.Message) -> bool:
        if message.type == Gst.MessageType.SEGMENT_DONE:
            self._seek(Gst.SeekFlags.SEGMENT)
            return True
        return GstRtspServer.RTSPMedia.do_handle_message(self, message)

    def do_query_stop(self, stop: int) -> tuple[bool, int]:  # stop: the out-parameter, as PyGObject passes it
        """No end, as a camera's stream has none: the SDP's range is open (`npt=0-`). With the file's length
        there, a client may take the stream for a clip of that many frames (OpenCV reports them as its frame
        count, and Ultralytics' stream loader stops reading after them)."""
        return True, -1

    def _seek(self, flags: Gst.SeekFlags) -> None:
        # Straight to the demuxer: a seek sent to the pipeline goes to the RTP sinks, and rtpbin
        # does not carry it upstream.
        demux = self.get_element().get_by_name("demux")
        if demux is not None:
            demux.seek(1.0, Gst.Format.TIME, flags, Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1)


class FileFactory(GstRtspServer.RTSPMediaFactory):
    """Builds the serving pipeline for one file; the path is set as a property, never parsed.
    `delay_ns` shifts the stream's running time: its packets leave that much later than the file's clock."""

    def __init__(self, path: Path, delay_ns: int = 0) -> None:
        super().__init__()
        self._path = path
        self._delay_ns = delay_ns

    def do_create_element(self, url: GstRtspServer.RTSPUrl) -> Gst.Element:
        element = Gst.parse_launch(PIPELINE.format(demuxer=DEMUXERS[self._path.suffix.lower()]))
        element.get_by_name("src").set_property("location", str(self._path))
        pay_src = element.get_by_name("pay0").get_static_pad("src")
        pay_src.add_probe(Gst.PadProbeType.QUERY_UPSTREAM, unseekable)
        pay_src.set_offset(self._delay_ns)
        return element


def unseekable(pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
    """Answer "not seekable" for the stream, as a camera would.

    ffmpeg's PLAY asks for `Range: npt=0-` on every connect; the server would seek the shared
    media for it, rewinding the timeline of every client watching. Not seekable, the PLAY just
    joins the timeline where it is. LoopingMedia's own seeks go to the demuxer, past this pad.
    """
    query = info.get_query()
    if query.type != Gst.QueryType.SEEKING:
        return Gst.PadProbeReturn.OK
    query.set_seeking(Gst.Format.TIME, False, 0, -1)
    return Gst.PadProbeReturn.HANDLED


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, required=True, help="H.264 .mp4 or .ts to serve")
    parser.add_argument("--port", type=int, default=8554, help="TCP port; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--mount", default="/cam", help="path of the stream, e.g. /cam")
    parser.add_argument("--user", help="require RTSP basic auth with this user (needs --password)")
    parser.add_argument("--password", help="password for --user")
    parser.add_argument("--loop", action="store_true", help="start the file again at its end")
    parser.add_argument("--mounts", type=int, default=1,
                        help="serve the file this many times, at MOUNT01, MOUNT02, ... (default 1: at MOUNT)")
    parser.add_argument("--stagger-s", type=float, default=0.0,
                        help="spread the mounts' timelines over this many seconds (default 0: all alike)")
    args = parser.parse_args(argv)
    if (args.user is None) != (args.password is None):
        parser.error("--user and --password go together")
    if args.mounts < 1 or args.stagger_s < 0:
        parser.error("--mounts must be at least 1 and --stagger-s at least 0")
    if not args.file.is_file():
        parser.error(f"no such file: {args.file}")
    demuxer = DEMUXERS.get(args.file.suffix.lower())
    if demuxer is None:
        parser.error(f"{args.file}: serves {', '.join(sorted(DEMUXERS))} files only")
    if args.loop and demuxer not in LOOPING_DEMUXERS:
        parser.error(f"{args.file}: only MP4 files can --loop")
    if not args.mount.startswith("/"):
        args.mount = "/" + args.mount
    return args


def require_basic_auth(server: GstRtspServer.RTSPServer, factories: list[GstRtspServer.RTSPMediaFactory],
                       user: str, password: str) -> None:
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role(ROLE, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
    permissions.add_permission_for_role(ROLE, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
    for factory in factories:
        factory.set_permissions(permissions)


def mount_paths(mount: str, mounts: int) -> list[str]:
    """The paths served: `mount` itself for one, else `mount` numbered from 01."""
    return [mount] if mounts == 1 else [f"{mount}{index:02d}" for index in range(1, mounts + 1)]


def main(argv: list[str]) -> int:
    args = parse_args(argv)

    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    paths = mount_paths(args.mount, args.mounts)
    factories = []
    for index, path in enumerate(paths):
        factory = FileFactory(args.file.resolve(), round(index * args.stagger_s / len(paths) * Gst.SECOND))
        # Shared: every client sees the same timeline, as with a real camera.
        factory.set_shared(True)
        if args.loop:
            factory.set_media_gtype(LoopingMedia)
        server.get_mount_points().add_factory(path, factory)
        factories.append(factory)
    if args.user is not None:
        require_basic_auth(server, factories, args.user, args.password)
    if server.attach(None) == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr)
        return 1

    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    print("READY " + " ".join(f"rtsp://{args.host}:{server.get_bound_port()}{path}" for path in paths), flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
