"""QR codes of links (segno): PNG for screens and slides, SVG for print."""

import io

import segno

MIN_SCALE, MAX_SCALE, DEFAULT_SCALE = 1, 20, 8
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


def parse_scale(value) -> int:
    """The `scale` query parameter (pixels per module), 1–20. ValueError with a message otherwise."""
    if value in (None, ""):
        return DEFAULT_SCALE
    try:
        scale = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a whole number from {MIN_SCALE} to {MAX_SCALE}.") from None
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be a whole number from {MIN_SCALE} to {MAX_SCALE}.")
    return scale


def qr_code(url: str, fmt: str, scale: int = DEFAULT_SCALE) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"Unknown QR format “{fmt}”.")
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    if fmt == "svg":
        code.save(out, kind="svg", scale=scale, border=4, xmldecl=True, svgns=True, title=url)
    else:
        code.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
