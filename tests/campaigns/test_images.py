"""Campaign images: an admin uploads PNG, JPEG or WebP (checked by content), ambassadors of the
campaign download them.

Hostile uploads (an HTML page named .png, an SVG, a 50 MB file, decompression bombs, animated
images, damaged or foreign formats) are refused with a message and leave nothing behind: no file
in the storage (MEDIA_ROOT, a directory of the test's own) and no row, even when the storage fails
half-way. Good images are stored re-encoded without their metadata (EXIF GPS, camera, XMP, PNG
text), upright, with a WebP thumbnail at most 480 px wide; the download is an attachment with the
right content type and nosniff, and a 404 for anyone who may not see the campaign."""

import io
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo

from campaigns.models import CampaignImage, CampaignStatus
from campaigns.services import CampaignError, images
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, GroupFactory, member
from tests.support.storage import full_disk_storages

MB = 1024 * 1024


# --- files, real ones -------------------------------------------------------------------------------

def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png(width=1200, height=800, mode="RGBA", **options) -> bytes:
    return encoded(Image.new(mode, (width, height), (200, 60, 30, 255)[:len(mode)]), "PNG", **options)


def spy_exif() -> Image.Exif:
    """A phone's EXIF: camera make, GPS position, and "rotate 90°" (orientation 6)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.0)}
    return exif


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def declared_png(width: int, height: int) -> bytes:
    """A valid PNG header declaring width × height pixels, with a few bytes of pixel data: what a
    decompression bomb looks like before anyone decodes it (a few dozen bytes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'


def upload(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files(settings) -> list[Path]:
    return sorted(path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file())


def image_rows(org) -> int:
    with tenant_scope(org):
        return CampaignImage.objects.count()


def stored_bytes(image) -> bytes:
    with image.file.open("rb") as handle:
        return handle.read()


@pytest.fixture
def add(org, campaign):
    """add(file, alt_text) → images.add_image in the organisation's scope."""
    def _add(uploaded, alt_text=""):
        with tenant_scope(org):
            return images.add_image(campaign, uploaded, alt_text)
    return _add


# --- hostile uploads: refused, with a message, nothing stored ----------------------------------------

HOSTILE = [
    pytest.param(lambda: upload("poster.png", HTML), "web page (HTML)", id="html-named-png"),
    pytest.param(lambda: upload("logo.svg", SVG, "image/svg+xml"), "SVG drawings aren't accepted", id="svg"),
    pytest.param(lambda: upload("logo.png", SVG), "SVG drawings aren't accepted", id="svg-named-png"),
    pytest.param(lambda: upload("bomb.png", declared_png(30000, 30000)), "decompression bomb", id="bomb-30000px"),
    pytest.param(lambda: upload("big.png", declared_png(10000, 10000)), "at most 50 megapixels", id="bomb-100mp"),
    pytest.param(lambda: upload("big.png", declared_png(8000, 8000)), "8,000 × 8,000 pixels (64 megapixels)",
                 id="over-50mp"),
    pytest.param(lambda: upload("anim.png", encoded(Image.new("RGB", (20, 20)), "PNG", save_all=True,
                                                    append_images=[Image.new("RGB", (20, 20), "red")])),
                 "Animated or multi-frame", id="animated-png"),
    pytest.param(lambda: upload("anim.webp", encoded(Image.new("RGB", (20, 20)), "WEBP", save_all=True,
                                                     append_images=[Image.new("RGB", (20, 20), "red")])),
                 "Animated or multi-frame", id="animated-webp"),
    pytest.param(lambda: upload("photo.gif", encoded(Image.new("RGB", (20, 20)), "GIF"), "image/gif"),
                 "isn't a PNG, JPEG or WebP image", id="gif"),
    pytest.param(lambda: upload("doc.png", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"), "isn't a PNG, JPEG or WebP",
                 id="pdf-named-png"),
    pytest.param(lambda: upload("cut.png", png()[:300]), "damaged or incomplete", id="truncated-png"),
    pytest.param(lambda: upload("cut.jpg", encoded(Image.new("RGB", (300, 200), "red"), "JPEG")[:400],
                                "image/jpeg"), "damaged or incomplete", id="truncated-jpeg"),
    pytest.param(lambda: upload("empty.png", b""), "This file is empty", id="empty"),
]


@pytest.mark.parametrize(("make", "message"), HOSTILE)
def test_hostile_upload_is_refused_and_nothing_is_stored(org, add, settings, make, message):
    with pytest.raises(CampaignError) as refused:
        add(make())
    assert refused.value.field == "image" and message in refused.value.message, refused.value.message
    assert stored_files(settings) == [] and image_rows(org) == 0


def test_a_50_mb_file_is_refused_by_its_size_before_anything_is_read(org, add, settings):
    big = TemporaryUploadedFile("huge.png", "image/png", 50 * MB, None)
    big.write(png(64, 64) + b"\0" * (50 * MB))
    big.seek(0)
    with pytest.raises(CampaignError) as refused:
        add(big)
    assert refused.value.message == "This file is 50 MB; images can be at most 5 MB."
    assert big.tell() == 0  # not one byte read
    assert stored_files(settings) == [] and image_rows(org) == 0


def test_a_file_bigger_than_its_declared_size_is_refused_after_5_mb(org, add, settings):
    liar = SimpleUploadedFile("liar.png", png(64, 64) + b"\0" * (6 * MB))
    liar.size = 1000  # what a client claimed
    with pytest.raises(CampaignError, match="at most 5 MB"):
        add(liar)
    assert stored_files(settings) == [] and image_rows(org) == 0


def test_a_storage_failing_half_way_leaves_no_file_and_no_row(org, add, settings):
    settings.STORAGES = full_disk_storages(settings.STORAGES)  # the original fits, the thumbnail doesn't
    with pytest.raises(OSError, match="No space left"):
        add(upload("poster.png", png()))
    assert stored_files(settings) == [] and image_rows(org) == 0


def test_an_alt_text_too_long_is_refused_before_anything_is_stored(org, add, settings):
    with pytest.raises(CampaignError) as refused:
        add(upload("poster.png", png()), "x" * 301)
    assert refused.value.field == "alt_text" and "300 characters" in refused.value.message
    assert stored_files(settings) == [] and image_rows(org) == 0


# --- good images: stored without metadata, with a thumbnail ---------------------------------------

@pytest.mark.parametrize(("name", "data", "fmt", "size", "thumb"), [
    ("poster.png", png(1200, 800), "PNG", (1200, 800), (480, 320)),
    ("photo.jpg", encoded(Image.new("RGB", (640, 480), "teal"), "JPEG"), "JPEG", (640, 480), (480, 360)),
    ("small.webp", encoded(Image.new("RGB", (300, 200), "navy"), "WEBP"), "WEBP", (300, 200), (300, 200)),
])
def test_good_image_is_stored_with_a_thumbnail(org, add, settings, name, data, fmt, size, thumb):
    image = add(upload(name, data, "application/octet-stream"), "  Our   new poster ")  # the type isn't trusted
    assert (image.format, image.width, image.height, image.original_name) == (fmt, *size, name)
    assert image.alt_text == "Our new poster"
    original = Image.open(io.BytesIO(stored_bytes(image)))
    assert (original.format, original.size) == (fmt, size) and image.size_bytes == image.file.size
    with image.thumbnail.open("rb") as handle:
        thumbnail = Image.open(io.BytesIO(handle.read()))
    assert (thumbnail.format, thumbnail.size) == ("WEBP", thumb)
    assert len(stored_files(settings)) == 2 and image_rows(org) == 1
    assert all(path.name.split(".")[0] not in name for path in stored_files(settings))  # unguessable names


def test_jpeg_metadata_is_stripped_and_the_photo_stands_upright(add):
    photo = encoded(Image.new("RGB", (40, 20), "green"), "JPEG", exif=spy_exif(),
                    xmp=b"<x:xmpmeta>home address</x:xmpmeta>")
    assert b"SpyCam" in photo and b"home address" in photo
    image = add(upload("holiday.jpg", photo, "image/jpeg"))
    stored = stored_bytes(image)
    assert b"SpyCam" not in stored and b"home address" not in stored
    reopened = Image.open(io.BytesIO(stored))
    assert dict(reopened.getexif()) == {} and reopened.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert reopened.size == (20, 40) == (image.width, image.height)  # turned as the camera said


def test_png_text_and_webp_exif_are_stripped(add):
    info = PngInfo()
    info.add_text("Author", "Jane Spy, 12 Secret Lane")
    image = add(upload("poster.png", png(pnginfo=info)))
    assert b"Jane Spy" not in stored_bytes(image)
    image = add(upload("poster.webp", encoded(Image.new("RGB", (30, 20)), "WEBP", exif=spy_exif()), "image/webp"))
    assert b"SpyCam" not in stored_bytes(image) and (image.width, image.height) == (20, 30)


def test_a_palette_png_keeps_its_transparency(add):
    image = add(upload("logo.png", encoded(Image.new("P", (30, 30)), "PNG", transparency=0)))
    assert Image.open(io.BytesIO(stored_bytes(image))).info.get("transparency") == 0


def test_deleting_an_image_removes_its_files_once_committed(org, add, settings, django_capture_on_commit_callbacks):
    image = add(upload("poster.png", png()))
    assert len(stored_files(settings)) == 2
    with django_capture_on_commit_callbacks(execute=True), tenant_scope(org):
        images.delete_image(image)
    assert stored_files(settings) == [] and image_rows(org) == 0


# --- the pages -------------------------------------------------------------------------------------

def manage_url(org, campaign):
    return reverse("campaign_manage", args=[org.slug, campaign.public_id])


def add_url(org, campaign):
    return reverse("campaign_image_add", args=[org.slug, campaign.public_id])


def download_url(org, image):
    return reverse("campaign_image_download", args=[org.slug, image.public_id])


def thumbnail_url(org, image):
    return reverse("campaign_image_thumbnail", args=[org.slug, image.public_id])


def test_admin_uploads_on_the_campaign_page_and_sees_it_listed(org, campaign, admin_user, login, settings):
    client = login(admin_user)
    response = client.post(add_url(org, campaign), {"image": upload("poster.png", png()),
                                                     "alt_text": "Spring poster"})
    assert response.status_code == 302 and response["Location"].endswith("#images")
    with tenant_scope(org):
        image = CampaignImage.objects.get(campaign=campaign)
    page = client.get(manage_url(org, campaign)).content.decode()
    assert 'enctype="multipart/form-data"' in page and "style=" not in page
    assert f'src="{thumbnail_url(org, image)}" width="480" height="320" alt="Spring poster"' in page
    assert download_url(org, image) in page and "poster.png" in page


@pytest.mark.parametrize(("name", "data", "message"), [
    ("poster.png", HTML, "This file is a web page (HTML), not an image, whatever its name says"),
    ("logo.svg", SVG, "SVG drawings aren&#x27;t accepted"),
    ("bomb.png", declared_png(30000, 30000), "decompression bomb"),
])
def test_the_page_refuses_a_hostile_upload_with_its_message(org, campaign, admin_user, login, settings, name, data,
                                                            message):
    response = login(admin_user).post(add_url(org, campaign), {"image": upload(name, data)})
    assert response.status_code == 400 and message in response.content.decode()
    assert stored_files(settings) == [] and image_rows(org) == 0


def test_the_page_refuses_a_50_mb_request_before_parsing_it(org, campaign, admin_user, login, settings):
    response = login(admin_user).post(add_url(org, campaign),
                                      {"image": upload("huge.png", png(64, 64) + b"\0" * (50 * MB))})
    assert response.status_code == 413
    assert "This file is 50 MB; images can be at most 5 MB." in response.content.decode()
    assert stored_files(settings) == [] and image_rows(org) == 0


def test_upload_needs_an_admin_and_a_csrf_token(org, campaign, admin_user, manager, login, settings):
    assert login(manager).post(add_url(org, campaign), {"image": upload("p.png", png())}).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(add_url(org, campaign), {"image": upload("p.png", png())}).status_code == 403
    assert login(admin_user).get(add_url(org, campaign)).status_code == 405
    assert stored_files(settings) == [] and image_rows(org) == 0


def test_admin_deletes_an_image(org, campaign, admin_user, login, settings, add,
                                django_capture_on_commit_callbacks):
    image = add(upload("poster.png", png()))
    url = reverse("campaign_image_delete", args=[org.slug, campaign.public_id, image.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = login(admin_user).post(url)
    assert response.status_code == 302
    assert stored_files(settings) == [] and image_rows(org) == 0


def test_ambassador_sees_thumbnails_and_downloads_the_image(org, campaign, ambassador_user, login, add):
    image = add(upload("Spring poster.png", png()), "A sunny poster")
    client = login(ambassador_user)
    page = client.get(reverse("my_campaign", args=[org.slug, campaign.public_id])).content.decode()
    assert "Images to post" in page and f'src="{thumbnail_url(org, image)}"' in page
    assert f'href="{download_url(org, image)}" download' in page

    response = client.get(download_url(org, image))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="Spring poster.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == stored_bytes(image)

    thumb = client.get(thumbnail_url(org, image))
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
    assert "attachment" not in thumb.get("Content-Disposition", "")
    assert Image.open(io.BytesIO(b"".join(thumb.streaming_content))).format == "WEBP"


def test_download_is_404_for_whoever_may_not_see_the_campaign(org, other_org, campaign, ambassador_user, manager,
                                                             login, add):
    image = add(upload("poster.png", png()))
    urls = [download_url(org, image), thumbnail_url(org, image)]

    outsider = member(other_org, Role.OWNER, ambassador=True, email="boss@rival.test")
    client = Client()
    client.force_login(outsider)
    assert [client.get(url).status_code for url in urls] == [404, 404]  # another organisation
    assert client.get(reverse("campaign_image_download", args=[other_org.slug, image.public_id])).status_code == 404

    insiders = GroupFactory(organization=org, name="Insiders")
    with tenant_scope(org):
        campaign.target_groups.set([insiders])
    ambassador = login(ambassador_user)
    assert [ambassador.get(url).status_code for url in urls] == [404, 404]  # not targeted

    with tenant_scope(org):
        campaign.target_groups.clear()
        campaign.status = CampaignStatus.DRAFT
        campaign.save()
    assert [ambassador.get(url).status_code for url in urls] == [404, 404]  # a draft

    assert [login(manager).get(url).status_code for url in urls] == [200, 200]  # managers see every campaign


def test_images_in_the_campaigns_api(org, campaign, ambassador_user, manager, login, add):
    image = add(upload("poster.png", png()), "Poster")
    other = CampaignFactory(organization=org, featured=True)
    mine = login(ambassador_user).get(f"/api/v1/o/{org.slug}/my/campaigns/").json()["results"]
    assert [entry["id"] for entry in mine] == [str(other.public_id), str(campaign.public_id)]  # featured first
    listed = mine[1]["images"]
    assert [(i["id"], i["alt_text"], i["format"], i["width"], i["height"]) for i in listed] == [
        (str(image.public_id), "Poster", "PNG", 1200, 800)]
    assert listed[0]["download_url"] == f"http://testserver{download_url(org, image)}"
    assert mine[0]["featured"] is True and mine[1]["featured"] is False

    managed = login(manager).get(f"/api/v1/o/{org.slug}/campaigns/{campaign.public_id}/").json()
    assert managed["featured"] is False and managed["images"][0]["thumbnail_url"].endswith(thumbnail_url(org, image))
