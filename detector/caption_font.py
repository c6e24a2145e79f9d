"""The CJK font an evidence caption's 中文 kind label is drawn in (the rest stays in cv2's font, as
Droid Sans Fallback has no Latin letters).

The first of a few Debian font files that exists (fonts-droid-fallback comes with scripts/lib/setup.sh),
looked up once per process and loaded once per pixel size. Without one, captions show the kind's code
only, and a single warning says why.
"""

from __future__ import annotations

import logging
from functools import cache, lru_cache
from pathlib import Path

from PIL import ImageFont

log = logging.getLogger(__name__)

CJK_FONT_PATHS = (
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),  # fonts-droid-fallback
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),  # fonts-noto-cjk
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # fonts-wqy-microhei
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # fonts-wqy-zenhei
)


@cache
def cjk_font_path() -> Path | None:
    """The first CJK font file installed, or None (warned about once)."""
    found = next((path for path in CJK_FONT_PATHS if path.is_file()), None)
    if found is None:
        log.warning("no CJK font found (looked for %s); evidence captions show kind codes without their "
                    "中文 labels; install fonts-droid-fallback", ", ".join(map(str, CJK_FONT_PATHS)))
    return found


@lru_cache(maxsize=16)  # a size per camera resolution; a site has few
def caption_font(size_px: int) -> ImageFont.FreeTypeFont | None:
    """The CJK font at `size_px` pixels, or None when none is installed."""
    path = cjk_font_path()
    return None if path is None else ImageFont.truetype(str(path), size_px)
