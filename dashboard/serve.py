"""``python -m dashboard.serve run dashboard/app.py ...``: Streamlit with its old pages/ folder rule off
and uvicorn's own reading of X-Forwarded-For off (the dashboard reads it by the system's one rule).

Streamlit still honours its first multipage scheme: while no script run of this process has
called ``st.navigation``, a script in the ``pages/`` folder beside the entry point is run
directly when its address is asked for, without the entry point, so without its login.
Right after a restart, ``/admin`` would open for anybody.  Our navigation lists the
pages itself (``dashboard/app.py``), so the folder rule is switched off before the server
starts; the browser test of a freshly started dashboard guards this.
"""

from __future__ import annotations

import os

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web.cli import main

if __name__ == "__main__":
    PagesManager.uses_pages_directory = False
    # Streamlit serves with uvicorn, which by default believes X-Forwarded-For from 127.0.0.1
    # and rewrites the client's address before the dashboard sees it.  The dashboard applies
    # the one rule of campaign.access.clients (CAMPAIGN_TRUSTED_PROXIES) itself, so uvicorn
    # trusts nobody: st.context.ip_address stays the connecting address.
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    main(prog_name="streamlit")
