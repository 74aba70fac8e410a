"""The labelling view as a Streamlit component (``st.components.v2``, no build step): keys.js
handles each key in the page and queues it with the paragraph it was pressed on; keys.css
styles it. The queue's protocol, without Streamlit, is :mod:`segmenter.labelling.keyqueue`.

Streamlit is imported only when the view is mounted (the app extra)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: The component's name (unique in the app) and its key in ``st.session_state``.
NAME = "segmenter.labelling_keys"
KEY = "label_keys"


def asset(name: str) -> str:
    """The text of one of the component's files (keys.js, keys.css)."""
    return (HERE / name).read_text(encoding="utf-8")


@cache
def _component() -> Any:
    import streamlit as st

    return st.components.v2.component(NAME, js=asset("keys.js"), css=asset("keys.css"))


def queued(session_state: Any) -> object:
    """The queue the page sent with its last key (``{"nonce", "events"}``), or None."""
    state = session_state.get(KEY)
    return state.get("queue") if isinstance(state, dict) else None


def label_view(data: dict[str, Any]) -> None:
    """Mount the labelling view with ``data`` (:func:`keyqueue.view_data`)."""
    _component()(key=KEY, data=data, default={"queue": None}, on_queue_change=lambda: None)
