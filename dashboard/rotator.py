"""A rotating wall screen: ``/live?rotate=live:hassan,map,live:campaign:torture&every=20``.

The page becomes a small player that stacks the listed pages in frames of its own origin
and cross-fades between them on a timer, with no clicks.  The next page loads hidden while
the current one shows, so a change never shows a blank or half-drawn page (a reload would);
at most two pages are open at once, so a long playlist costs no more than two screens.
Each frame is the page itself (``/on-air?appeal=hassan``), logged in by the same session
cookie or, for a rotating screen's token, by the token and its place in the playlist
(``?slot=``), so every frame checks its own access and a revoked token leaves within seconds.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import streamlit as st

from campaign.access import rotation
from campaign.access.rotation import Playlist
from campaign.errors import BadRequest, CampaignError
from dashboard import data, guard

ROTATE, EVERY, SLOT = "rotate", "every", "slot"
PASSED_ON = ("theme",)  # parameters every frame takes from the rotation's own address
FADE_MS = 800


def run_if_asked() -> None:
    """Draw the rotation and end the page here, if this address asks for one; else nothing."""
    token = st.query_params.get("token")
    screen = data.screen(token) if token else None
    if SLOT in st.query_params:
        return  # a frame of a rotation shows its page
    if screen is not None:
        if screen.playlist is None:
            return
        playlist = screen.playlist
    elif ROTATE in st.query_params:
        try:
            playlist = asked()
        except CampaignError as refused:
            st.error(f"This rotating screen cannot start: {plain(refused.message)}", icon=":material/error:")
            st.stop()
    else:
        return
    st.html(player(playlist, frames(playlist, token)), unsafe_allow_javascript=True)
    watch()
    st.stop()


def plain(text: str) -> str:
    """``text`` as itself in Markdown: the address's own words must not become a link or an image."""
    return _PUNCTUATION.sub(r"\\\1", text)


_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # CommonMark lets a backslash escape each of them


def asked() -> Playlist:
    """The playlist of this address, checked against the database and the visitor's role."""
    playlist = rotation.parse(",".join(st.query_params.get_all(ROTATE)), st.query_params.get(EVERY))
    with data.engine().connect() as connection:
        rotation.check(connection, playlist)
    visitor = guard.visitor()
    for page in playlist.pages:
        if visitor is None or not visitor.may_see(page):
            raise BadRequest(f"rotate: your role does not see the {page} page")
    return playlist


def frames(playlist: Playlist, token: str | None) -> list[str]:
    """Each entry's address, relative to this page (so a base path in front still holds)."""
    passed = {name: st.query_params.get(name) or "" for name in PASSED_ON if st.query_params.get(name)}
    found = []
    for slot, entry in enumerate(playlist.entries):
        scope = {"token": token} if token else entry.query()
        found.append(f"{entry.page}?{urlencode(scope | passed | {SLOT: str(slot), 'embed': 'true'})}")
    return found


@st.fragment(run_every=5)
def watch() -> None:
    guard.recheck()  # a revoked screen link or a removed user ends the rotation, not only its frames


def player(playlist: Playlist, urls: list[str]) -> str:
    """The self-contained player: frames, a cross-fade, a timer; nothing fetched from elsewhere."""
    settings = json.dumps(
        {"urls": urls, "titles": [entry.text for entry in playlist.entries], "every": playlist.every * 1000}
    )
    return _PLAYER.replace("__SETTINGS__", settings).replace("__FADE__", str(FADE_MS))


# The frames stay at full size (opacity, not display: none): a chart drawn while hidden would
# have no width.  The page after the current one opens as soon as the current one shows, so it
# has a whole turn to draw; if it has not drawn when its turn comes, the current one stays until
# it has (at most another turn).
_PLAYER = """
<div id="rotation" data-showing="" role="region" aria-label="rotating screen"></div>
<style>
#rotation { position: fixed; inset: 0; z-index: 1000000; background: #000; }
#rotation iframe { position: absolute; inset: 0; width: 100%; height: 100%; border: 0;
  opacity: 0; transition: opacity __FADE__ms ease-in-out; }
#rotation iframe.shown, #rotation iframe.leaving { opacity: 1; }
#rotation iframe.shown { z-index: 2; }
@media (prefers-reduced-motion: reduce) { #rotation iframe { transition: none; } }
</style>
<script>
(() => {
  const box = document.getElementById("rotation");
  if (!box || box.dataset.started) return;
  box.dataset.started = "1";
  const { urls, titles, every } = __SETTINGS__;
  const open = new Map();
  const after = (i) => (i + 1) % urls.length;
  const frame = (i) => {
    if (!open.has(i)) {
      const f = document.createElement("iframe");
      f.title = titles[i];
      f.dataset.slot = String(i);
      f.addEventListener("load", () => { f.dataset.loaded = "1"; });
      f.src = urls[i];
      box.appendChild(f);
      open.set(i, f);
    }
    return open.get(i);
  };
  const show = (i) => {
    const f = frame(i);
    for (const [j, g] of open) {
      if (j !== i && g.classList.contains("shown")) { g.classList.replace("shown", "leaving"); }
    }
    f.classList.add("shown");
    box.dataset.showing = String(i);
    setTimeout(() => {
      for (const [j, g] of open) {
        if (j === i) continue;
        g.classList.remove("leaving");
        if (j !== after(i)) { g.remove(); open.delete(j); }
      }
      frame(after(i));
    }, __FADE__ + 100);
  };
  // Drawn: Streamlit has run the page, no placeholder (a chart still loading) is left, and
  // its elements have stopped arriving (the same count as a quarter of a second ago).
  const drawn = (f) => {
    if (!f.dataset.loaded) return false;
    const page = f.contentDocument;
    const app = page && page.querySelector("[data-testid='stApp']");
    if (!app || ["initial", "running"].includes(app.dataset.testScriptState)) return false;
    const placeholders = ["stAppSkeleton", "stSkeleton", "stSkeletonElement"]
      .map((id) => `[data-testid='${id}']`).join(", ");
    if (page.querySelector(placeholders)) return false;
    const count = String(page.querySelectorAll("[data-testid='stElementContainer']").length);
    const settled = count !== "0" && f.dataset.count === count;
    f.dataset.count = count;
    return settled;
  };
  // A page that never settles is shown anyway after a turn's wait: the list goes on.
  const whenDrawn = (i, then, waited = 0) => {
    if (drawn(frame(i)) || waited >= every) then();
    else setTimeout(() => whenDrawn(i, then, waited + 250), 250);
  };
  const turn = (i) => {
    const next = after(i);
    whenDrawn(next, () => { show(next); setTimeout(() => turn(next), every); });
  };
  whenDrawn(0, () => { show(0); if (urls.length > 1) setTimeout(() => turn(0), every); });
})();
</script>
"""
