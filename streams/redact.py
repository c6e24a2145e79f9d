"""Remove credentials from URLs before they reach a log line, a message or a report."""

from __future__ import annotations

import re

# scheme://user:password@host  or  scheme://user@host
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")


def redact_url(text: str) -> str:
    """Replace the user-info part of every URL in `text` with `***`.

    >>> redact_url("rtsp://admin:secret@10.0.0.7:554/live")
    'rtsp://***@10.0.0.7:554/live'
    """
    return _USERINFO.sub(r"\g<scheme>***@", text)


def describe(exc: BaseException) -> str:
    """An exception as one line for a log or a health reason, credentials removed (ffmpeg errors
    quote the URL; pika's often have an empty str() and the cause in their args)."""
    detail = str(exc) or "; ".join(str(arg) or repr(arg) for arg in exc.args)
    return redact_url(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__)
