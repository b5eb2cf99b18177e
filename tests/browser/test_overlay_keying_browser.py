"""Every overlay keyed as a vision mixer sees it: pixels read from Chromium's screenshots.

An appeal's, a campaign's and the whole network's overlay, on chroma green (every pixel
off the figures exactly #00B140, the number in white) and transparent (a screenshot
without a page background: alpha 0 off the figures, the number opaque), for OBS, vMix
and CasparCG browser sources.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import Backend, Server, post_twilio, twilio_form

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("hassan", "kenya")]

KEY = (0, 177, 64)
WHITE = (255, 255, 255)
# (overlay path, what its token covers)
OVERLAYS = [
    ("/overlay/hassan", {"appeal": "hassan"}),
    ("/overlay/campaigns/torture", {"campaign": "torture"}),
    ("/overlay/campaigns/all", {"campaign": "all"}),
]


def edges(width: int, height: int) -> list[tuple[int, int]]:
    """Points off the figures: the corners and the middle of each side, inside the frame."""
    return [
        (4, 4),
        (width - 5, 4),
        (4, height - 5),
        (width - 5, height - 5),
        (width // 2, 6),
        (6, height // 2),
    ]


def number_row(picture: object, width: int, height: int) -> list[tuple[int, ...]]:
    """The pixels across the number's middle (it is centred, above the label)."""
    y = int(height * 0.42)
    return [picture.getpixel((x, y)) for x in range(width // 4, width * 3 // 4)]  # type: ignore[attr-defined]


@pytest.fixture
def counted(ingest_server: Server, backend: Backend) -> Server:
    """Two signatures in: hassan (campaign torture) and kenya; every overlay shows a number."""
    if backend.name != "embedded":
        pytest.skip("the pages are the same on every backend; the embedded run covers them")
    with httpx.Client(base_url=ingest_server.url) as http:
        assert post_twilio(http, twilio_form("SMk1", "+31612345678", "JA")).status_code == 200
        assert post_twilio(http, twilio_form("SMk2", "+31612345679", "KENYA")).status_code == 200
    return ingest_server


def screenshot(
    server: Server, visit: Callable[..., object], token: str, path: str, theme: str
) -> tuple[object, object]:
    """The overlay once its number has arrived and the count-up ended; without a page background."""
    from PIL import Image

    query = f"theme={theme}&" if theme else ""
    shown = visit(server.url + f"{path}?{query}token={token}", width=1280, height=720)
    page = shown.page  # type: ignore[attr-defined]
    page.wait_for_function("Number(document.getElementById('total').dataset.value) > 0", timeout=10000)
    page.wait_for_timeout(1000)
    return shown, Image.open(io.BytesIO(page.screenshot(omit_background=True))).convert("RGBA")


# Off the figures: chroma green, opaque; or nothing at all (alpha 0) for an alpha key.
BACKGROUNDS = {"green": (*KEY, 255), "": (0, 0, 0, 0)}


@pytest.mark.parametrize("theme", list(BACKGROUNDS), ids=["green", "transparent"])
@pytest.mark.parametrize(("path", "scope"), OVERLAYS, ids=["appeal", "campaign", "all"])
def test_overlay_keys_cleanly(
    counted: Server,
    visit: Callable[..., object],
    screen_token: Callable[..., str],
    path: str,
    scope: dict[str, str],
    theme: str,
) -> None:
    shown, picture = screenshot(counted, visit, screen_token(**scope), path, theme)
    width, height = picture.size  # type: ignore[attr-defined]
    background = [picture.getpixel(xy) for xy in edges(width, height)]  # type: ignore[attr-defined]
    if theme:
        assert background == [BACKGROUNDS[theme]] * 6, "every pixel off the figures is the key colour"
    else:
        assert [pixel[3] for pixel in background] == [0] * 6, "nothing behind the figures"
    assert (*WHITE, 255) in number_row(picture, width, height), "the number is opaque white over the key"
    assert shown.outside() == []  # type: ignore[attr-defined]
