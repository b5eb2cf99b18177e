"""The dashboard's charts: pure functions from a DataFrame (and a palette) to a Plotly figure.

No Streamlit and no Redis here, so each chart can be tested with a hand-made table.

- ``common``: the look every chart shares (type, layouts for a screen and for a staff
  page, the "nothing to show" note, a channel's colour) and Plotly's options;
- ``live``: the Live page's wall-screen charts, read from across a room;
- ``staff``: the Map page's map of demonstrations and the Outcomes page's charts;
- ``history`` and ``messages``: the History and Messages pages' charts.
"""
