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
