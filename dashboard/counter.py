"""The on-air number: counts up smoothly in the browser and never goes backwards.

A broadcast must not show 12 345 and then 12 339.  Figures can dip: a forced
``reconcile`` lowers a Redis figure that was too high, a reload starts from a fresh read,
Redis restarts empty.  So the rule is kept twice: the server never sends a number lower
than the one it sent this session (``never_lower``, kept in session state), and the
browser never draws one lower than it drew.

The animation runs client-side in a Streamlit v2 component: the element stays mounted
while its data changes once a second, so the script keeps the number it is showing and
eases from there to the new one; nothing is reloaded, nothing flickers.  Inline JS and
CSS only, no assets from elsewhere; a viewer who asked for reduced motion gets jumps.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import streamlit as st

STATE_PREFIX = "on-air:shown:"

HTML = """
<div class="onair" data-theme="dark">
  <div class="n" aria-live="polite"></div>
  <div class="label"></div>
  <div class="goal"><div class="track"><div class="fill"></div></div><div class="text"></div></div>
  <div class="mark" aria-hidden="true"></div>
  <div class="notice"></div>
</div>
"""

CSS = """
:host { display: block; }
.onair {
  --fg: #FFFFFF; --sub: #D2D6DC; --bar: #FFD400; --track: rgba(255, 255, 255, .18);
  box-sizing: border-box; width: 100%; height: 100vh;
  padding: 5vh 5vw;  /* title-safe: nothing that matters within 5% of an edge */
  display: flex; flex-direction: column; align-items: center; justify-content: center;
  text-align: center; color: var(--fg); font-family: inherit; overflow: hidden;
}
.onair[data-theme="light"] { --fg: #0B0B0C; --sub: #3A414C; --bar: #0B0B0C; --track: rgba(0, 0, 0, .12); }
.onair[data-theme="green"] {
  --fg: #FFFFFF; --sub: #FFFFFF; --bar: #FFFFFF; --track: rgba(255, 255, 255, .35);
}
.onair[data-theme="transparent"] {
  --fg: #FFFFFF; --sub: #FFFFFF; --bar: #FFFFFF; --track: rgba(255, 255, 255, .3);
  text-shadow: 0 .03em .14em rgba(0, 0, 0, .6);
}
.n {
  font-size: 30vh; font-weight: 800; line-height: 1; letter-spacing: -.02em;
  font-variant-numeric: tabular-nums; white-space: nowrap; max-width: 90vw;
}
.label {
  font-size: 6vh; font-weight: 600; line-height: 1.15; margin-top: 2.5vh; color: var(--sub);
  max-width: 90vw; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.label:empty { display: none; }
.goal { display: none; width: min(60vw, 100%); margin-top: 3.5vh; }
.goal.on { display: block; }
.track { height: 1.3vh; border-radius: .65vh; background: var(--track); overflow: hidden; }
.fill {
  height: 100%; width: 0; background: var(--bar); border-radius: .65vh; transition: width .8s ease-out;
}
.text { font-size: 3.6vh; color: var(--sub); margin-top: 1.4vh; font-variant-numeric: tabular-nums; }
/* For the operator only, outside the title-safe area: a dim dot while figures are stale. */
.mark {
  position: fixed; right: 1.2vmin; bottom: 1.2vmin; width: 1.1vmin; height: 1.1vmin;
  border-radius: 50%; background: #FF4D4D; opacity: 0; transition: opacity .4s;
}
.mark.on { opacity: .55; }
.notice {
  position: fixed; left: 1.2vmin; bottom: .8vmin; font-size: 1.6vmin; opacity: .5; color: var(--sub);
}
@media (prefers-reduced-motion: reduce) { .fill { transition: none; } }
"""

JS = r"""
const SPACE = "\u202f";
const grouped = (n) => Math.floor(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, SPACE);

export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement.querySelector(".onair");
  if (!root || !data) return;
  const number = root.querySelector(".n");
  const goal = root.querySelector(".goal");
  // What this element shows survives every update: it is kept on the element itself.
  const s = parentElement.__onair || (parentElement.__onair = { shown: null, target: null, raf: 0, len: 0 });

  root.dataset.theme = data.theme || "dark";
  root.querySelector(".label").textContent = data.label || "";
  root.querySelector(".mark").classList.toggle("on", Boolean(data.stale));
  root.querySelector(".notice").textContent = data.notice || "";

  const draw = () => {
    const text = s.shown === null ? "" : grouped(s.shown);
    number.textContent = text;
    if (text.length !== s.len) {  // shrink long numbers to stay inside the title-safe width
      s.len = text.length;
      number.style.fontSize = `min(30vh, ${(150 / Math.max(text.length, 5)).toFixed(2)}vw)`;
    }
    const target = Number(data.goal) || 0;
    goal.classList.toggle("on", target > 0 && s.shown !== null);
    if (target > 0 && s.shown !== null) {
      const share = (100 * Math.floor(s.shown)) / target;
      root.querySelector(".fill").style.width = `${Math.min(share, 100).toFixed(2)}%`;
      root.querySelector(".text").textContent = `${Math.floor(share)}% of ${grouped(target)}`;
    }
  };

  if (data.value === null || data.value === undefined) { draw(); return; }
  s.target = Math.max(Number(data.value), s.target === null ? 0 : s.target);
  const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  if (s.shown === null || still || s.target - s.shown < 1) {
    // First figure (also after a reload): shown at once, never counted up from zero.
    s.shown = Math.max(s.target, s.shown === null ? 0 : s.shown);
    draw();
    return;
  }
  cancelAnimationFrame(s.raf);
  const from = s.shown;
  const to = s.target;
  const duration = Math.min(1500, 500 + 12 * (to - from));
  const start = performance.now();
  const step = (now) => {
    const t = Math.min(1, (now - start) / duration);
    const eased = 1 - Math.pow(1 - t, 3);
    s.shown = Math.max(s.shown, from + (to - from) * eased);  // only ever upwards
    draw();
    if (t < 1) s.raf = requestAnimationFrame(step);
  };
  s.raf = requestAnimationFrame(step);
}
"""

_mount = st.components.v2.component("campaign_on_air_counter", html=HTML, css=CSS, js=JS)


def never_lower(shown: int | None, current: int | None) -> int | None:
    """The next number to show: the new figure, unless it is lower than the one on screen.

    ``None`` means no figure: nothing read yet, or the read failed; what is on screen stays.
    """
    if current is None:
        return shown
    if shown is None:
        return current
    return max(shown, current)


def next_shown(state: MutableMapping[Any, Any], key: str, current: int | None) -> int | None:
    """Apply ``never_lower`` to what this session last showed for ``key``, and remember it."""
    name = STATE_PREFIX + key
    shown = never_lower(state.get(name), current)
    if shown is not None:
        state[name] = shown
    return shown


def counter(
    *,
    value: int | None,
    label: str,
    goal: int | None,
    theme: str,
    stale: bool,
    notice: str = "",
    key: str = "on-air-counter",
) -> None:
    """Mount (or update) the counter; the browser eases from its current number to ``value``."""
    _mount(
        key=key,
        data={
            "value": value,
            "label": label,
            "goal": goal or None,
            "theme": theme,
            "stale": stale,
            "notice": notice,
        },
        height="content",
    )
