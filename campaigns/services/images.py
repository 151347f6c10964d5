"""Campaign images: a PNG, JPEG or WebP of at most MAX_IMAGE_BYTES, told by its content (never by
its name or the browser's content type), stored through Django's default storage (local disk or an
S3-compatible store alike) with a thumbnail.

What is refused, each with a message the admin can act on and nothing stored (no file, no row):
too large (told by the upload's size before anything is read), empty, an SVG or HTML page, anything
Pillow can't open as PNG/JPEG/WebP, more than MAX_PIXELS pixels (checked from the header, before a
pixel is decoded: a decompression bomb declares a huge canvas in a few bytes), animated or
multi-frame images, damaged data. The stored original is re-encoded in its own format without its
metadata (EXIF with GPS position and camera, XMP, text chunks), upright (EXIF orientation applied)
and with its colour profile kept."""

import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import PurePath

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from ..models import Campaign, CampaignImage, ImageFormat
from . import CampaignError

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 5 * 1024 * 1024
# A request to the upload page carries the file plus a few form fields: anything bigger is refused
# before its body is parsed.
MAX_UPLOAD_REQUEST_BYTES = MAX_IMAGE_BYTES + 64 * 1024
MAX_PIXELS = 50_000_000
THUMBNAIL_BOX = (480, 960)  # at most 480 px wide (and 960 high, for very tall images)
ALT_TEXT_MAX = CampaignImage._meta.get_field("alt_text").max_length
ORIGINAL_NAME_MAX = CampaignImage._meta.get_field("original_name").max_length

CONTENT_TYPES = {ImageFormat.PNG: "image/png", ImageFormat.JPEG: "image/jpeg", ImageFormat.WEBP: "image/webp"}
EXTENSIONS = {ImageFormat.PNG: "png", ImageFormat.JPEG: "jpg", ImageFormat.WEBP: "webp"}
THUMBNAIL_FORMAT = ImageFormat.WEBP

ACCEPTED = "a PNG, JPEG or WebP image"
TOO_MANY_PIXELS = f"at most {MAX_PIXELS // 1_000_000} megapixels are accepted"
# What Pillow's own limit catches (its header check at open), before ours could count.
BOMB = f"This image declares far more pixels than accepted (a decompression bomb?); {TOO_MANY_PIXELS}."
DAMAGED = "This image is damaged or incomplete: export it again and upload the new file."
# Pillow's errors for data it can't decode (truncated, bad chunks, bad headers).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, ArithmeticError,
                 MemoryError)


def _refuse(message: str, field: str = "image") -> CampaignError:
    return CampaignError(field, message)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")


def too_large_message(size: int | None) -> str:
    told = f"This file is {_megabytes(size)} MB" if size else "This file is too large"
    return f"{told}; images can be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB."


@dataclass(frozen=True)
class CheckedImage:
    format: str
    width: int
    height: int
    original: bytes  # re-encoded, without metadata
    thumbnail: bytes


def _what_it_is_instead(head: bytes) -> str | None:
    """A message for the hostile look-alikes worth naming (an SVG, a web page)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text or (text.startswith(b"<?xml") and b"svg" in text):
        return f"SVG drawings aren't accepted (they can carry scripts): upload {ACCEPTED}."
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<!--", b"<?php")):
        return f"This file is a web page (HTML), not an image, whatever its name says: upload {ACCEPTED}."
    return None


def _open(data: bytes) -> Image.Image:
    """The image, its header read and nothing decoded; CampaignError for anything but a still PNG,
    JPEG or WebP of at most MAX_PIXELS."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(ImageFormat.values))
    except Image.DecompressionBombError as error:
        raise _refuse(BOMB) from error
    except UnidentifiedImageError as error:
        raise _refuse(_what_it_is_instead(data[:512]) or
                      f"This file isn't {ACCEPTED} (whatever its name says); other formats aren't accepted.") \
            from error
    except DECODE_ERRORS as error:
        raise _refuse(DAMAGED) from error
    if image.format == "MPO" or getattr(image, "n_frames", 1) > 1:
        raise _refuse("Animated or multi-frame images aren't accepted: upload a still PNG, JPEG or WebP image.")
    if image.format not in ImageFormat.values:
        raise _refuse(f"{image.format} images aren't accepted: upload {ACCEPTED}.")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise _refuse(f"This image is {width:,} × {height:,} pixels ({width * height / 1_000_000:,.0f} megapixels); "
                      f"{TOO_MANY_PIXELS}.")
    return image


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """The thumbnail's size for an image of width × height (never larger than the image)."""
    scale = min(1.0, THUMBNAIL_BOX[0] / width, THUMBNAIL_BOX[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _encode_original(image: Image.Image) -> bytes:
    """The image in its own format, with none of the file's metadata: the encoders only write what
    they are given, and they are given the colour profile (and a PNG's transparency, kept in info)."""
    image_format, icc = image.format, image.info.get("icc_profile")
    image.info = {key: value for key, value in image.info.items() if key == "transparency"}
    options: dict = {"icc_profile": icc} if icc else {}
    if image_format == ImageFormat.JPEG:
        # The file's own quantisation tables: the copy looks like the upload, at about its size.
        options["quality"] = "keep" if getattr(image, "quantization", None) else 90
    elif image_format == ImageFormat.WEBP:
        options.update(quality=90, method=4)
    out = io.BytesIO()
    image.save(out, format=image_format, **options)
    return out.getvalue()


def _encode_thumbnail(image: Image.Image) -> bytes:
    working = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA" if _has_alpha(image) else "RGB")
    small = working.resize(thumbnail_size(*image.size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    small.save(out, format=THUMBNAIL_FORMAT, quality=80, method=4)
    return out.getvalue()


def check_image(data: bytes) -> CheckedImage:
    """Everything about an upload's bytes: CampaignError (field "image") when refused, else the
    re-encoded original and its thumbnail."""
    if not data:
        raise _refuse("This file is empty.")
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice it: here, that is a refusal too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            _open(data).verify()  # the whole file's structure (chunk checksums …), without decoding
            image = _open(data)  # verify() leaves the image unusable: open it again
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            width, height = image.size
            return CheckedImage(format=image.format, width=width, height=height, original=_encode_original(image),
                                thumbnail=_encode_thumbnail(image))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _refuse(BOMB) from error
        except CampaignError:
            raise
        except DECODE_ERRORS as error:
            raise _refuse(DAMAGED) from error


def _read_capped(uploaded_file) -> bytes:
    """The upload's bytes, refused by its size before any is read, and by what it holds if the size
    was wrong."""
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > MAX_IMAGE_BYTES:
        raise _refuse(too_large_message(size))
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    data = uploaded_file.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise _refuse(too_large_message(None))
    return data


def clean_alt_text(alt_text: str | None) -> str:
    alt_text = " ".join((alt_text or "").split())
    if len(alt_text) > ALT_TEXT_MAX:
        raise _refuse(f"Keep the description to {ALT_TEXT_MAX} characters (it has {len(alt_text)}).", "alt_text")
    return alt_text


def _original_name(uploaded_file) -> str:
    name = PurePath(str(getattr(uploaded_file, "name", "") or "").replace("\\", "/")).name
    return "".join(ch for ch in name if ch.isprintable())[:ORIGINAL_NAME_MAX]


def add_image(campaign: Campaign, uploaded_file, alt_text: str = "") -> CampaignImage:
    """Check, re-encode and store an uploaded image with its thumbnail; CampaignError (field "image"
    or "alt_text") when refused. Nothing stays behind when a step fails: files written before a
    failing step are deleted."""
    alt_text = clean_alt_text(alt_text)
    checked = check_image(_read_capped(uploaded_file))
    image = CampaignImage(organization_id=campaign.organization_id, campaign=campaign, format=checked.format,
                          width=checked.width, height=checked.height, size_bytes=len(checked.original),
                          original_name=_original_name(uploaded_file), alt_text=alt_text)
    written = []
    try:
        image.file.save(f"image.{EXTENSIONS[checked.format]}", ContentFile(checked.original), save=False)
        written.append(image.file)
        image.thumbnail.save(f"thumbnail.{EXTENSIONS[THUMBNAIL_FORMAT]}", ContentFile(checked.thumbnail), save=False)
        written.append(image.thumbnail)
        with transaction.atomic():
            image.save()
    except BaseException:
        for stored in written:
            delete_file_quietly(stored.storage, stored.name)
        raise
    return image


def delete_file_quietly(storage, name: str) -> None:
    """Remove a stored file; one already gone (or a store that fails) leaves nothing to undo."""
    if not name:
        return
    try:
        storage.delete(name)
    except Exception:  # best effort: no row points at it any more
        logger.warning("Could not delete the stored file %s; it is orphaned.", name, exc_info=True)


def delete_image(image: CampaignImage) -> None:
    """Delete the image's row; its files go once the deletion is committed (campaigns.signals), so
    a rolled-back deletion keeps them."""
    image.delete()


def update_alt_text(image: CampaignImage, alt_text: str) -> CampaignImage:
    image.alt_text = clean_alt_text(alt_text)
    image.save(update_fields=["alt_text"])
    return image


def download_name(image: CampaignImage) -> str:
    """The file name a download is saved under: the uploaded name's stem, the stored format's extension."""
    stem = PurePath(image.original_name or "").stem.strip() or "campaign-image"
    return f"{stem[:80]}.{EXTENSIONS[image.format]}"
