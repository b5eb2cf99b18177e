"""Colours and page CSS for screens that hang on walls and go on air.

Streamlit has one theme per app (``.streamlit/config.toml``), but a screen picks its own
with ``?theme=``; so the screen pages paint themselves from a ``Palette`` through CSS
variables, and the charts take the same palette.  The CSS also removes Streamlit's
chrome (toolbar, header, menu, running indicator, decoration): nobody clicks a wall
screen, and nothing of it may appear on air.  Everything here is plain strings, no
assets from elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Palette:
    name: str
    background: str
    surface: str
    border: str
    text: str
    muted: str
    grid: str
    accent: str
    good: str
    alert: str
    series: tuple[str, ...]


DARK = Palette(
    name="dark",
    background="#0E1116",
    surface="#171B23",
    border="#262C38",
    text="#F4F5F7",
    muted="#9AA3B2",
    grid="#262C38",
    accent="#FFD400",
    good="#3DD68C",
    alert="#FF6B6B",
    series=("#FFD400", "#4CC9F0", "#80ED99", "#FF8FA3", "#B8A1FF", "#FFB347", "#9AA3B2"),
)
LIGHT = Palette(
    name="light",
    background="#F3F4F6",
    surface="#FFFFFF",
    border="#E1E4EA",
    text="#111418",
    muted="#5A6372",
    grid="#E6E8EC",
    accent="#1D4ED8",
    good="#047857",
    alert="#C62828",
    series=("#1D4ED8", "#D97706", "#059669", "#DB2777", "#7C3AED", "#0891B2", "#5A6372"),
)
PALETTES = {p.name: p for p in (DARK, LIGHT)}

# Streamlit's own chrome, by the test ids it renders with.
CHROME = (
    'header[data-testid="stHeader"]',
    '[data-testid="stToolbar"]',
    '[data-testid="stDecoration"]',
    '[data-testid="stStatusWidget"]',
    '[data-testid="stMainMenu"]',
    '[data-testid="stSidebar"]',
    '[data-testid="stSidebarCollapsedControl"]',
    "#MainMenu",
    "footer",
    # Streamlit's "Page not found" modal: right after the server starts, the first screen to
    # open a page by its path gets it although the page then runs; screens never use dialogs.
    '[data-baseweb="modal"]',
    '[role="dialog"]',
    # ... and its backdrop, which would otherwise dim the screen and break the chroma key.
    '[data-testid="stDialog"]',
)


def palette(name: str) -> Palette:
    return PALETTES.get(name, DARK)


# The Live page fits one 1920x1080 screen: each strip row (96 px and a 14 px gap) under
# the cards is taken from the two rows of charts.
STRIP_ROW = 110


def live_heights(strip_rows: int) -> tuple[int, int]:
    """Heights of the top charts and the bottom charts for a Live page with this many strip rows."""
    taken = STRIP_ROW * max(0, min(strip_rows, 2))
    top = 372 - (taken * 55) // 100
    return top, 332 - (taken - (372 - top))


def hide_chrome() -> str:
    """CSS that leaves only the page's own content, edge to edge, and never dims it."""
    return f"""
{", ".join(CHROME)} {{ display: none !important; }}
[data-testid="stMainBlockContainer"] {{ padding: 0 !important; max-width: none !important; }}
[data-testid="stAppViewContainer"] > section, [data-testid="stMain"] {{ padding: 0 !important; }}
/* Fragments rerun every second: elements must not fade while a run is under way. */
[data-stale="true"], .stale-element {{ opacity: 1 !important; transition: none !important; }}
html, body {{ overflow: hidden; }}
"""


def live_css(p: Palette) -> str:
    """The wall-screen page: variables for the palette, cards, panels and the ticker."""
    return f"""<style>
{hide_chrome()}
.stApp {{
  --cr-bg: {p.background}; --cr-surface: {p.surface}; --cr-border: {p.border};
  --cr-text: {p.text}; --cr-muted: {p.muted}; --cr-accent: {p.accent};
  --cr-good: {p.good}; --cr-alert: {p.alert};
  background: var(--cr-bg) !important; color: var(--cr-text);
}}
[data-testid="stMainBlockContainer"] {{ padding: 18px 28px 12px !important; }}
.stApp [data-testid="stVerticalBlock"] {{ gap: 14px; }}
.stApp [data-testid="stHorizontalBlock"] {{ gap: 14px; }}
.cr-head {{ display: flex; align-items: center; justify-content: space-between; height: 56px; }}
.cr-title {{ display: flex; align-items: center; gap: 18px; min-width: 0; }}
.cr-title h1 {{ font-size: 34px; font-weight: 700; margin: 0; padding: 0; line-height: 1.1;
  color: var(--cr-text); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
.cr-title .cr-sub {{ color: var(--cr-muted); font-size: 20px; white-space: nowrap; }}
.cr-live {{ font-size: 16px; font-weight: 700; letter-spacing: .12em; padding: 4px 12px;
  border-radius: 6px; background: var(--cr-alert); color: #fff; }}
.cr-live.off {{ background: transparent; color: var(--cr-muted); border: 2px solid var(--cr-border); }}
.cr-clock {{ text-align: right; line-height: 1.1; }}
.cr-clock b {{ font-size: 34px; font-weight: 700; font-variant-numeric: tabular-nums; }}
.cr-clock span {{ display: block; color: var(--cr-muted); font-size: 16px; }}
.cr-note {{ color: var(--cr-muted); font-size: 16px; }}
.cr-note.alert {{ color: var(--cr-alert); }}
.cr-milestone {{ color: var(--cr-good); font-size: 20px; font-weight: 700; white-space: nowrap; }}
.cr-cards {{ display: grid; gap: 14px; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr));
  height: 176px; }}
.cr-card {{ background: var(--cr-surface); border: 1px solid var(--cr-border); border-radius: 14px;
  padding: 16px 22px; display: flex; flex-direction: column; justify-content: space-between;
  min-width: 0; overflow: hidden; }}
.cr-k {{ color: var(--cr-muted); font-size: 17px; font-weight: 600; letter-spacing: .06em;
  text-transform: uppercase; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
.cr-v {{ font-size: 64px; font-weight: 800; line-height: 1; font-variant-numeric: tabular-nums;
  white-space: nowrap; }}
.cr-card.hero .cr-v {{ color: var(--cr-accent); font-size: 76px; }}
.cr-cards.many .cr-v {{ font-size: 52px; }}
.cr-s {{ color: var(--cr-muted); font-size: 17px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }}
.cr-s b {{ color: var(--cr-text); font-weight: 700; }}
.cr-s .up {{ color: var(--cr-good); font-weight: 700; }}
.cr-bar {{ height: 10px; border-radius: 5px; background: var(--cr-border); overflow: hidden; }}
.cr-bar > span {{ display: block; height: 100%; background: var(--cr-accent); border-radius: 5px; }}
.cr-panel-h {{ color: var(--cr-muted); font-size: 17px; font-weight: 600; letter-spacing: .06em;
  text-transform: uppercase; margin: 2px 0 10px; }}
[class*="st-key-panel-"] {{ background: var(--cr-surface); border: 1px solid var(--cr-border);
  border-radius: 14px; padding: 14px 18px 6px; }}
.cr-ticker {{ width: 100%; border-collapse: collapse; font-size: 20px; table-layout: fixed; }}
.cr-ticker td {{ padding: 5px 8px; border-top: 1px solid var(--cr-border); white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; color: var(--cr-text); }}
.cr-ticker tr:first-child td {{ border-top: 0; }}
.cr-ticker td.t {{ width: 15%; font-variant-numeric: tabular-nums; color: var(--cr-muted); }}
.cr-ticker td.n {{ width: 30%; font-variant-numeric: tabular-nums; font-weight: 600; }}
.cr-ticker td.c {{ width: 27%; }}
.cr-ticker td.ch {{ width: 12%; color: var(--cr-muted); }}
.cr-ticker td.a {{ width: 16%; color: var(--cr-muted); }}
.cr-ticker tr.fresh td.n {{ color: var(--cr-accent); }}
.cr-empty {{ color: var(--cr-muted); font-size: 20px; padding: 24px 8px; }}
/* The strip under the cards: a campaign's social figures and today's demonstrations. */
.cr-strip {{ display: flex; flex-direction: column; gap: 14px; }}
.cr-srow {{ display: grid; gap: 14px; height: 96px;
  grid-template-columns: repeat(5, minmax(0, 1fr)) minmax(0, 2.7fr); }}
.cr-srow.named {{ grid-template-columns: minmax(0, 1.1fr) repeat(5, minmax(0, 1fr)) minmax(0, 2.4fr); }}
.cr-srow.only-today {{ grid-template-columns: minmax(0, 1fr); }}
.cr-srow.only-today.named {{ grid-template-columns: minmax(0, 1.1fr) minmax(0, 9.4fr); }}
.cr-sname {{ align-self: center; font-size: 21px; font-weight: 700; line-height: 1.15;
  color: var(--cr-text); overflow: hidden; }}
.cr-mini {{ background: var(--cr-surface); border: 1px solid var(--cr-border); border-radius: 12px;
  padding: 11px 18px; display: flex; flex-direction: column; justify-content: space-between;
  min-width: 0; overflow: hidden; }}
.cr-mini .cr-k {{ font-size: 14px; }}
.cr-mv {{ font-size: 38px; font-weight: 800; line-height: 1; font-variant-numeric: tabular-nums;
  white-space: nowrap; overflow: hidden; }}
.cr-ms {{ font-size: 15px; font-weight: 400; color: var(--cr-muted); margin-left: 8px; }}
.cr-tl {{ display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 2px 22px;
  max-height: 54px; overflow: hidden; font-size: 20px; line-height: 26px; }}
.cr-tl span {{ white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
.cr-tl b {{ color: var(--cr-accent); font-variant-numeric: tabular-nums; margin-right: 6px; }}
.cr-tl i {{ font-style: normal; color: var(--cr-muted); font-size: 16px; margin-left: 7px; }}
.cr-tl .none, .cr-tl .more {{ color: var(--cr-muted); }}
.cr-srow.named .cr-tl i {{ display: none; }}  /* narrower beside a campaign's name: time and city */
</style>"""


def on_air_css(theme: str) -> str:
    """The on-air page: the chosen background edge to edge, and nothing else of Streamlit."""
    background = {
        "dark": "#000000",
        "light": "#FFFFFF",
        "green": "#00B140",  # the broadcast chroma-key green
        "transparent": "transparent",
    }.get(theme, "#000000")
    return f"""<style>
{hide_chrome()}
html, body, .stApp, [data-testid="stApp"], [data-testid="stAppViewContainer"],
[data-testid="stMain"], [data-testid="stMainBlockContainer"], [data-testid="stVerticalBlock"],
[data-testid="stBottom"] {{ background: {background} !important; }}
html, body {{ color-scheme: normal; }}
.stApp [data-testid="stVerticalBlock"] {{ gap: 0; }}
</style>"""


def staff_css(p: Palette) -> str:
    """Staff pages (map, outcomes): Streamlit's own page with its navigation, plus our cards.

    Unlike a wall screen, staff click and scroll, so the header (with the navigation),
    scrolling and widgets stay; the figure cards and panels match the Live page.
    """
    return f"""<style>
.stApp {{
  --cr-bg: {p.background}; --cr-surface: {p.surface}; --cr-border: {p.border};
  --cr-text: {p.text}; --cr-muted: {p.muted}; --cr-accent: {p.accent};
  --cr-good: {p.good}; --cr-alert: {p.alert};
}}
[data-testid="stMainBlockContainer"] {{ padding: 18px 36px 48px !important; max-width: 1840px; }}
header[data-testid="stHeader"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
footer {{ display: none !important; }}
.st-key-staff-nav {{ border-bottom: 1px solid var(--cr-border); padding-bottom: 6px; }}
.st-key-staff-nav a {{ padding: 4px 12px; }}
h1.sf-h {{ font-size: 34px; font-weight: 700; margin: 0; padding: 0; line-height: 1.2; }}
.sf-sub {{ color: var(--cr-muted); font-size: 17px; margin-top: 2px; }}
.sf-figures {{ display: grid; gap: 14px; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); }}
.sf-fig {{ background: var(--cr-surface); border: 1px solid var(--cr-border); border-radius: 14px;
  padding: 10px 20px 12px; min-width: 0; }}
.sf-k {{ color: var(--cr-muted); font-size: 14px; font-weight: 600; letter-spacing: .06em;
  text-transform: uppercase; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
.sf-v {{ font-size: 40px; font-weight: 800; line-height: 1.1; font-variant-numeric: tabular-nums;
  white-space: nowrap; }}
.sf-fig.hero .sf-v {{ color: var(--cr-accent); font-size: 48px; }}
.sf-s {{ color: var(--cr-muted); font-size: 15px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }}
[class*="st-key-panel-"] {{ background: var(--cr-surface); border: 1px solid var(--cr-border);
  border-radius: 14px; padding: 12px 16px 6px; }}
.sf-panel-h {{ color: var(--cr-muted); font-size: 14px; font-weight: 600; letter-spacing: .06em;
  text-transform: uppercase; margin: 4px 0 6px; }}
.sf-demos {{ display: grid; gap: 14px; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); }}
.sf-demo {{ background: var(--cr-surface); border: 1px solid var(--cr-border); border-radius: 14px;
  padding: 14px 18px; min-width: 0; }}
.sf-when {{ color: var(--cr-accent); font-size: 15px; font-weight: 600; font-variant-numeric: tabular-nums; }}
.sf-title {{ font-size: 19px; font-weight: 700; margin: 2px 0; line-height: 1.25; }}
.sf-where {{ font-size: 16px; }}
.sf-meta {{ color: var(--cr-muted); font-size: 15px; margin-top: 4px; }}
.sf-meta b {{ color: var(--cr-text); }}
.sf-links {{ display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 8px; font-size: 15px; }}
.sf-links a {{ color: var(--cr-accent); text-decoration: none; }}
.sf-photos {{ display: flex; flex-wrap: wrap; gap: 8px; margin-top: 10px; }}
.sf-photos img {{ width: 88px; height: 66px; object-fit: cover; border-radius: 8px;
  border: 1px solid var(--cr-border); background: var(--cr-bg); display: block; }}
.sf-empty {{ color: var(--cr-muted); font-size: 17px; padding: 16px 4px; }}
</style>"""
