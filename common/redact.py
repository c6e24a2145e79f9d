"""Remove credentials from URLs before they reach a log line, a message or a report."""

from __future__ import annotations

import re

# scheme://user:password@host: the user-info runs to the LAST `@` of the authority (a password may
# hold an `@`, as ffmpeg and urllib read it), which ends at the first /, ? or # (or whitespace).
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#\s]*@")
# `user:password@` without a well-formed scheme in front: a mistyped `rtsp:/admin:pw@host`, or none.
_BARE_USERINFO = re.compile(r"[^\s/?#@'\"]+:[^\s/?#'\"]*@")


def redact_url(text: str) -> str:
    """Replace the user-info of every URL in `text`, and anything else shaped `user:password@`,
    with `***`.

    >>> redact_url("rtsp://admin:Abc@S3cret@10.0.0.7:554/live")
    'rtsp://***@10.0.0.7:554/live'
    >>> redact_url("not readable: rtsp:/admin:pw@host")
    'not readable: rtsp:/***@host'
    """
    return _BARE_USERINFO.sub("***@", _URL_USERINFO.sub(r"\g<scheme>***@", text))


_SQLALCHEMY_TRAILERS = ("[SQL:", "[parameters:", "(Background on this error")


def describe(exc: BaseException) -> str:
    """An exception as one line for a log or a health reason, credentials removed (ffmpeg errors
    quote the URL; pika's often have an empty str() and the cause in their args). Its lines are
    joined with "; ", leaving out the statement, parameters and link SQLAlchemy's errors append.

    >>> describe(ValueError("first\\n  second\\n[SQL: INSERT ...]\\n[parameters: {'a': 1}]"))
    'ValueError: first; second'
    """
    text = str(exc) or "; ".join(str(arg) or repr(arg) for arg in exc.args)
    detail = "; ".join(line.strip() for line in text.splitlines()
                       if line.strip() and not line.startswith(_SQLALCHEMY_TRAILERS))
    return redact_url(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__)

