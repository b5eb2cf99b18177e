"""How ``campaign dashboard`` starts Streamlit with the dashboard's own configuration.

Streamlit looks for ``.streamlit/config.toml`` in the working directory, so a screen
started from anywhere else would silently lose the toolbar, error and theme settings.
The command therefore reads the one configuration file and hands every option to
``streamlit run`` as a ``--section.key=value`` flag; flags win over any other config
file on the machine.

The file is ``.streamlit/config.toml`` at the top of the project.  The package reaches it
through ``dashboard/.streamlit/config.toml``, a relative link in the source tree that
building a wheel turns into a copy (package data), so an installed dashboard carries
the same settings.  Streamlit itself also reads a ``.streamlit/`` folder beside the main
script, so a plain ``streamlit run dashboard/asgi.py`` agrees too.  The entry is
``asgi.py`` (``app.py`` plus the session-cookie route): ``app.py`` alone serves the pages,
but a login then lasts only as long as its browser tab.

This module imports neither Streamlit nor the rest of the dashboard: the core's command
line calls it.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from campaign.errors import ConfigurationError

PACKAGE = Path(__file__).resolve().parent
APP = PACKAGE / "app.py"
ASGI = PACKAGE / "asgi.py"  # app.py plus the session-cookie route (dashboard.cookies)
CONFIG = PACKAGE / ".streamlit" / "config.toml"


def load_config(path: Path = CONFIG) -> dict[str, Any]:
    """The dashboard's Streamlit configuration; missing or broken is an error, not a default."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigurationError(
            f"dashboard configuration missing at {path}; reinstall the campaign package"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path}: {error}") from None


def config_flags(config: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``{"client": {"toolbarMode": "minimal"}}`` -> ``["--client.toolbarMode=minimal"]``."""
    flags: list[str] = []
    for name, value in config.items():
        option = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flags += config_flags(value, f"{option}.")
        elif isinstance(value, bool):
            flags.append(f"--{option}={'true' if value else 'false'}")
        elif isinstance(value, str | int | float):
            flags.append(f"--{option}={value}")
        else:
            raise ConfigurationError(
                f"{CONFIG.name}: {option} is a {type(value).__name__}; "
                "only strings, numbers and booleans can be passed to Streamlit as flags"
            )
    return flags


def streamlit_command(*, host: str, port: int, python: str = sys.executable) -> list[str]:
    """The command line that serves the dashboard, headless, on ``host:port``."""
    return [
        python,
        "-m",
        "dashboard.serve",  # Streamlit, with its pages/ folder rule off (see serve.py)
        "run",
        str(ASGI),
        *config_flags(load_config()),
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.headless=true",
    ]
