"""annotate_app.py in a real browser: ``streamlit run`` on a free local port, driven by
headless Chromium through Playwright (the system's Chromium, never a downloaded one).

A pasted document's ``<script>`` and Markdown show as literal text and create no element;
the keyboard alone labels paragraphs, each decision reaches the label store at once and is
still there after a reload; typing digits into a text or number field labels nothing.

Screenshots of the labelling view, the preview and the agreement page (two annotators on a
seed page) go to ``tests/artifacts/`` (gitignored), or to SEGMENTER_SCREENSHOTS if set:
``app_label.png``, ``app_preview.png``, ``app_agreement.png`` (1280x800).

Skipped without the ``playwright`` package (``pip install '.[browser]'``) or a Chromium
binary (Debian: ``apt-get install chromium``; or set SEGMENTER_CHROMIUM to its path).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

from conftest import REPO  # noqa: E402

from segmenter.labelling.store import LabelStore  # noqa: E402


def _chromium() -> str | None:
    for cand in (
        os.environ.get("SEGMENTER_CHROMIUM"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
        shutil.which("chromium-browser"),
    ):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary (apt-get install chromium)")

NAME_FIELD = "Your name (stored with each decision)"
HOSTILE = (
    "Headline with <script>window.__pwned=1</script> inside\n"
    "A **bold** claim and <b>tag</b> with [a link](http://127.0.0.1:9/x) here.\n"
    "Third paragraph of the page, with some more words in it.\n"
    "Fourth paragraph of the page.\n"
)
TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    raise RuntimeError(
        f"streamlit did not listen on {port} in {timeout:.0f} s:\n{log.read_text(errors='replace')}"
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app on a free port with its label store and models in tmp folders."""
    tmp = tmp_path_factory.mktemp("browser")
    labels, models = tmp / "labels", tmp / "models"
    models.mkdir()
    for ext in (".joblib", ".json"):  # the shipped model, copied so nothing in the repo is written
        shutil.copy(REPO / "models" / f"segmenter{ext}", models / f"segmenter{ext}")
    port = _free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    for var in ("SEGMENTER_LABELS", "SEGMENTER_MODELS", "SEGMENTER_ALLOW", "SEGMENTER_ANNOTATOR"):
        env.pop(var, None)
    log = tmp / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(REPO / "annotate_app.py"),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
                "--",
                "--labels",
                str(labels),
                "--models",
                str(models),
            ],
            cwd=tmp,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, proc, log)
        yield {"url": f"http://127.0.0.1:{port}/", "labels": labels, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield b
        finally:
            b.close()


def _new_page(browser, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture
def page(browser):
    context, pg = _new_page(browser, 1400, 1300)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def small_page(browser):
    """A 1280x800 window: the size of the screenshots."""
    context, pg = _new_page(browser, 1280, 800)
    try:
        yield pg
    finally:
        context.close()


def _records(labels: Path, doc_id: str | None = None) -> list:
    return [r for r in LabelStore(labels).records() if doc_id is None or r.doc_id == doc_id]


def _poll_records(labels: Path, n: int, doc_id: str | None = None, timeout: float = 30) -> list:
    """The store's records once there are ``n`` (of ``doc_id``); fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        recs = _records(labels, doc_id)
        if len(recs) >= n or time.monotonic() > deadline:
            return recs
        time.sleep(0.2)


def _blur(page) -> None:
    """No element has focus, so a key press goes to the page's shortcuts."""
    page.evaluate("document.activeElement && document.activeElement.blur && document.activeElement.blur()")


def _current(page) -> list[str]:
    """The marker of the current paragraph, e.g. ``['▶ ¶1']``."""
    return [ln for ln in page.get_by_test_id("stMain").inner_text().splitlines() if ln.startswith("▶")]


def _wait_current(page, index: int) -> None:
    sync_api.expect(page.get_by_test_id("stMain").get_by_text(f"▶ ¶{index}", exact=True)).to_be_visible()


def _set_name(page, annotator: str) -> None:
    name = page.get_by_label(NAME_FIELD)
    name.fill(annotator)
    name.press("Tab")  # commits the name (its on_change) without pressing a shortcut key
    sync_api.expect(page.get_by_text("Enter your name in the sidebar to label.")).to_have_count(0)


def _open(page, url: str, annotator: str, text: str) -> None:
    """Open the app, enter the annotator's name and paste ``text`` as the current document."""
    page.goto(url)
    sync_api.expect(page.get_by_text("segmenter labelling")).to_be_visible()
    _set_name(page, annotator)
    page.get_by_label("Or paste a page", exact=False).fill(text)
    page.get_by_role("button", name="Add pasted text").click()
    first = text.splitlines()[0]
    sync_api.expect(page.get_by_test_id("stMain").get_by_text(first, exact=True).first).to_be_visible()


def _doc_id(text: str) -> str:
    from segmenter.labelling.sources import pasted_document

    return pasted_document(text).doc_id


def _settled(page) -> None:
    """Wait until the app's script is not running: a shortcut pressed, or a number typed,
    while a run is still going (or just after the page loads) can be lost."""
    sync_api.expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=TIMEOUT_MS
    )
    page.wait_for_timeout(300)  # a key pressed the moment a run ends can still be lost


def _screenshot(page, name: str, grid_top: int = 0) -> Path:
    """Save the window as ``name`` in SEGMENTER_SCREENSHOTS or tests/artifacts/ (gitignored),
    scrolled to the top, a table's grid scrolled down ``grid_top`` pixels."""
    folder = Path(os.environ.get("SEGMENTER_SCREENSHOTS") or REPO / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    _settled(page)
    _blur(page)  # no focus ring, no open tooltip
    page.mouse.move(0, 0)
    page.evaluate("document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
    if grid_top:
        page.evaluate(f"document.querySelectorAll('.dvn-scroller').forEach(e => e.scrollTop = {grid_top})")
    page.wait_for_timeout(1000)  # progress bars' transitions; grids draw on a canvas after they appear
    page.screenshot(path=str(path))
    return path


def _press_labels(page, labels: Path, keys: str, doc_id: str, first: int) -> None:
    """Press the label keys ``keys`` one at a time from paragraph ``first`` on (label and
    advance), each decision landing in the store before the next key."""
    before = len(_records(labels, doc_id))
    for n, key in enumerate(keys, 1):
        _settled(page)
        _blur(page)
        page.keyboard.press(key)
        assert len(_poll_records(labels, before + n, doc_id)) == before + n
        _wait_current(page, first + n)


def _no_script_from_the_document(page) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert (
        page.evaluate(
            "[...document.querySelectorAll('script')]"
            ".filter(s => (s.textContent || '').includes('__pwned')).length"
        )
        == 0
    )
    # Nor any element a browser would make from the document's markup or Markdown.
    made = page.evaluate("""[...document.querySelectorAll('strong, b, em, a[href*="127.0.0.1:9"]')]
                            .filter(e => /bold|tag|a link/.test(e.textContent)).map(e => e.outerHTML)""")
    assert made == []


def test_a_pasted_page_shows_as_text_and_key_1_labels_its_first_paragraph(app, page):
    _open(page, app["url"], "alice", HOSTILE)
    main = page.get_by_test_id("stMain")
    # The markup and Markdown are on screen, literally, as text.
    sync_api.expect(
        main.get_by_text("Headline with <script>window.__pwned=1</script> inside", exact=True)
    ).to_be_visible()
    sync_api.expect(main.get_by_text("<script>", exact=False).first).to_be_visible()
    sync_api.expect(
        main.get_by_text(
            "A **bold** claim and <b>tag</b> with [a link](http://127.0.0.1:9/x) here.", exact=True
        )
    ).to_be_visible()
    _no_script_from_the_document(page)

    doc_id = _doc_id(HOSTILE)
    assert _records(app["labels"], doc_id) == []
    _wait_current(page, 0)
    _blur(page)
    page.keyboard.press("1")
    recs = _poll_records(app["labels"], 1, doc_id)
    assert [(r.index, r.label, r.annotator, r.retracted) for r in recs] == [(0, "core-story", "alice", False)]
    _wait_current(page, 1)  # labelled and advanced
    sync_api.expect(main.get_by_text("yours: core-story")).to_be_visible()

    # The preview: the document's text still literal, still no script.
    page.get_by_test_id("stSidebar").get_by_text("Preview", exact=True).click()
    sync_api.expect(main.get_by_text("clean(text)", exact=True)).to_be_visible()
    sync_api.expect(main.get_by_test_id("stDataFrame")).to_be_visible()
    _no_script_from_the_document(page)


def test_digits_typed_into_fields_label_nothing(app, page):
    text = "Fields headline\nFields paragraph one.\nFields paragraph two.\n"
    doc_id = _doc_id(text)
    _open(page, app["url"], "carol", text)
    _wait_current(page, 0)
    for field in (page.get_by_label("from ¶"), page.get_by_label("Or paste a page", exact=False)):
        _settled(page)  # mid-run, a rerun's stale copy of the field can sit beside the new one
        field.click()
        page.keyboard.press("End")
        page.keyboard.type("12345")
        field.press("Enter")
    _settled(page)
    page.get_by_label(NAME_FIELD).click()
    page.keyboard.type("2")  # the name is now "carol2", committed on Tab below
    page.wait_for_timeout(2000)
    assert _records(app["labels"], doc_id) == []
    assert _current(page) == ["▶ ¶0"]
    page.get_by_label(NAME_FIELD).press("Tab")
    _blur(page)
    page.keyboard.press("4")  # outside the fields the same key labels
    recs = _poll_records(app["labels"], 1, doc_id)
    assert [(r.index, r.label, r.annotator) for r in recs] == [(0, "nav", "carol2")]


def test_keyboard_decisions_survive_a_reload(app, page):
    text = "Reload headline\nReload paragraph one, with words.\nReload paragraph two.\nReload four.\n"
    doc_id = _doc_id(text)
    _open(page, app["url"], "bob", text)
    for n, key in enumerate(["1", "2", "4"], 1):
        _blur(page)
        page.keyboard.press(key)
        _wait_current(page, n)
        assert len(_poll_records(app["labels"], n, doc_id)) == n
    expected = [(0, "core-story"), (1, "related-article"), (2, "nav")]
    assert [(r.index, r.label) for r in _records(app["labels"], doc_id)] == expected

    page.reload()  # a new Streamlit session: its state comes back from the store
    _open(page, app["url"], "bob", text)
    main = page.get_by_test_id("stMain")
    for _, label in expected:
        sync_api.expect(main.get_by_text(f"yours: {label}", exact=True)).to_be_visible()
    _wait_current(page, 3)  # at the first paragraph bob has not labelled
    assert [(r.index, r.label) for r in _records(app["labels"], doc_id)] == expected


def _bulk(page, labels: Path, first: int, last: int, doc_id: str) -> None:
    """Type the range into the bulk fields and press ``b`` (the label stays core-story)."""
    before = len(_records(labels, doc_id))
    for field, value in (("from ¶", first), ("to ¶", last)):
        _settled(page)
        page.get_by_label(field).fill(str(value))
        page.get_by_label(field).press("Tab")  # commits the number
        sync_api.expect(page.get_by_label(field)).to_have_value(str(value))
    _settled(page)
    _blur(page)
    page.keyboard.press("b")
    recs = _poll_records(labels, before + last - first + 1, doc_id)[before:]
    assert [(r.index, r.label) for r in recs] == [(i, "core-story") for i in range(first, last + 1)]
    _wait_current(page, last + 1)


def test_screenshots_of_the_labelling_view_the_preview_and_the_agreement_page(app, small_page):
    """Two annotators label seed 004 with keys and the bulk range; the labelling view, the
    preview and the agreement page are saved as PNGs."""
    page, main, labels = small_page, small_page.get_by_test_id("stMain"), app["labels"]
    page.goto(app["url"])
    sync_api.expect(page.get_by_text("segmenter labelling")).to_be_visible()
    _settled(page)
    _set_name(page, "dana")
    _wait_current(page, 0)
    seed4 = "seeds/004_afa75ee4a337a7ae.txt"
    _settled(page)
    main.get_by_role("combobox", name="Document").click()
    page.get_by_role("option", name=seed4).click()
    sync_api.expect(main.get_by_role("combobox", name="Document")).to_have_value(seed4)
    _wait_current(page, 0)
    _bulk(page, labels, 0, 13, seed4)
    _press_labels(page, labels, "433", seed4, 14)  # hashtags (nav), two promo lines
    sync_api.expect(main.get_by_text("17 of 35 paragraphs labelled by you")).to_be_visible()
    _screenshot(page, "app_label.png")

    page.get_by_test_id("stSidebar").get_by_text("Preview", exact=True).click()
    sync_api.expect(main.get_by_text("clean(text)", exact=True)).to_be_visible()
    sync_api.expect(main.get_by_test_id("stDataFrame")).to_be_visible()
    _screenshot(page, "app_preview.png", grid_top=11 * 70)  # the end of the story, the tail dropped

    page.get_by_test_id("stSidebar").get_by_text("Label", exact=True).click()
    _wait_current(page, 17)
    _press_labels(page, labels, "444", seed4, 17)
    # a second annotator on paragraphs 10-19, disagreeing on 16 and 17
    _settled(page)
    _set_name(page, "erin")
    _wait_current(page, 0)
    _bulk(page, labels, 10, 13, seed4)
    _press_labels(page, labels, "434344", seed4, 14)
    mine = {(r.annotator, r.index): r.label for r in _records(labels, seed4)}
    core, nav, promo = "core-story", "nav", "promo"
    assert [mine[("dana", i)] for i in range(20)] == [core] * 14 + [nav, promo, promo, nav, nav, nav]
    assert [mine.get(("erin", i)) for i in range(20)] == (
        [None] * 10 + [core] * 4 + [nav, promo, nav, promo, nav, nav]
    )

    page.get_by_test_id("stSidebar").get_by_text("Agreement", exact=True).click()
    sync_api.expect(main.get_by_text("2 disagreements", exact=True)).to_be_visible()
    sync_api.expect(main.get_by_test_id("stDataFrame")).to_be_visible()
    _screenshot(page, "app_agreement.png")
