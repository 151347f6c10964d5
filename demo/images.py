"""A picture for the demo's featured campaign: drawn with Pillow when seeding (no binary file in
the repository) and stored through campaigns' own upload service, as an admin's upload would be
(checked, re-encoded, thumbnail made, kept under MEDIA_ROOT or the configured store)."""

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageFont

from campaigns.models import Campaign, CampaignImage
from campaigns.services.images import add_image

WIDTH, HEIGHT = 1200, 630  # the size networks show link previews at
TOP, BOTTOM = (24, 46, 94), (36, 120, 160)  # a dark blue fading to teal
BARS = [0.35, 0.5, 0.45, 0.7, 0.62, 0.85]  # a rising bar chart, the product's own motif


def banner(title: str, subtitle: str) -> bytes:
    """A 1200×630 PNG: a gradient, a bar chart and the campaign's name."""
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    for y in range(HEIGHT):
        share = y / (HEIGHT - 1)
        colour = tuple(round(a + (b - a) * share) for a, b in zip(TOP, BOTTOM, strict=True))
        draw.line([(0, y), (WIDTH, y)], fill=colour)
    left, base, width, gap = 720, 540, 56, 18
    for n, height in enumerate(BARS):
        x = left + n * (width + gap)
        draw.rounded_rectangle([x, base - round(height * 380), x + width, base], radius=8, fill=(120, 214, 196))
    draw.text((72, 200), title, font=ImageFont.load_default(size=60), fill=(255, 255, 255))
    draw.text((72, 290), subtitle, font=ImageFont.load_default(size=30), fill=(200, 226, 240))
    out = BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def add_banner(campaign: Campaign, organization_name: str) -> CampaignImage:
    upload = SimpleUploadedFile(f"{campaign.slug}.png", banner(campaign.name, organization_name),
                                content_type="image/png")
    return add_image(campaign, upload, alt_text=f"{campaign.name} by {organization_name}: a rising bar chart "
                                                 "on a blue background")
