"""The milestones field the appeal form uses: the list typed, or its mistake named under it."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def field() -> None:
    import streamlit as st

    from dashboard.forms import milestones_input

    st.session_state["got"] = milestones_input("Milestones", [10000, 25000], key="ms")


def test_the_field_shows_the_stored_milestones_and_reads_what_is_typed() -> None:
    at = AppTest.from_function(field)
    at.run()
    assert at.text_input(key="ms").value == "10\u202f000, 25\u202f000"
    assert at.session_state["got"] == [10000, 25000]
    at.text_input(key="ms").input("50000, 5 000").run()
    assert at.session_state["got"] == [5000, 50000] and not at.error
    at.text_input(key="ms").input("5000, lots").run()
    assert at.session_state["got"] is None
    assert at.error[0].value == "milestone 'lots': not a whole number of signatures, e.g. 10000"
