"""annotate_app.py in a real browser: ``streamlit run`` on a free local port, driven by
headless Chromium through Playwright (the system's Chromium, never a downloaded one).

Keys pressed 30 ms apart land in the label store exactly as the same keys pressed a second
apart, each on the paragraph the screen showed; the current paragraph and the label bar stay
inside a 1280x800 window far down a page; Enter and Esc leave the name box; a notice does not
move the page; a pasted document's ``<script>`` and Markdown show as literal text and create
no element; typing digits into a field labels nothing; decisions survive a reload.

Screenshots of the labelling view, the preview and the agreement page (two annotators on a
seed page) go to ``tests/artifacts/`` (gitignored), or to SEGMENTER_SCREENSHOTS if set:
``app_label.png`` (the README's docs/annotate_app.png), ``app_preview.png``,
``app_agreement.png`` (1280x800).

Skipped without the ``playwright`` package (``pip install '.[browser]'``) or a Chromium
binary (Debian: ``apt-get install chromium``; or set SEGMENTER_CHROMIUM to its path).
"""

from __future__ import annotations

import os
import re
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
#: Flags for Chromium in a container without a GPU, a sandbox or a network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

NAME_FIELD = "Your name (stored with each decision)"
HOSTILE = (
    "Headline with <script>window.__pwned=1</script> inside\n"
    "A **bold** claim and <b>tag</b> with [a link](http://127.0.0.1:9/x) here.\n"
    "Third paragraph of the page, with some more words in it.\n"
    "Fourth paragraph of the page.\n"
)
# fifteen paragraphs, so twenty keys never run out of unlabelled ones
PACE = "".join(f"Pace paragraph {i}: the council met on day {i} and voted on item {i}.\n" for i in range(15))
# 1-5, Enter, j, k and u mixed: labels, accepted suggestions, moves and undos
PACE_KEYS = ["1", "2", "j", "3", "Enter", "k", "4", "u", "5", "1", "j", "j"]
PACE_KEYS += ["2", "Enter", "u", "3", "k", "4", "5", "1"]
TIMEOUT_MS = 60_000
SEED4 = "seeds/004_afa75ee4a337a7ae.txt"


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
    env["USER"] = env["LOGNAME"] = "os-user"  # the name getpass.getuser() gives the app
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
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
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


def _quiet_records(labels: Path, doc_id: str, quiet: float = 3.0, timeout: float = 60) -> list:
    """The store's records of ``doc_id`` once they have not changed for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        recs = [(r.doc_id, r.index, r.label, r.annotator, r.retracted) for r in _records(labels, doc_id)]
        if recs != last:
            last, since = recs, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(0.2)
    return last or []


def _blur(page) -> None:
    """No element has focus, so a key press goes to the page's shortcuts."""
    page.evaluate("document.activeElement && document.activeElement.blur && document.activeElement.blur()")


CURRENT = "[data-testid='segk-para'][data-current='true']"


def _current(page) -> int:
    """The number of the highlighted paragraph (also read from a "▶ ¶N" marker, as the app
    before the labelling view showed it, so the pace test runs on that commit too)."""
    if page.locator(CURRENT).count():
        return int(page.locator(CURRENT).get_attribute("data-index"))
    marks = re.findall(r"^▶ ¶(\d+)$", page.get_by_test_id("stMain").inner_text(), re.M)
    return int(marks[0]) if len(marks) == 1 else -1


def _wait_current(page, index: int, timeout: float = 30) -> None:
    """Wait until paragraph ``index`` is the highlighted one."""
    deadline = time.monotonic() + timeout
    while (now := _current(page)) != index:
        assert time.monotonic() < deadline, f"the current paragraph is {now}, not {index}"
        page.wait_for_timeout(50)


def _set_name(page, annotator: str) -> None:
    """Type the name and press Enter: it is committed and the box gives the keys back."""
    name = page.get_by_label(NAME_FIELD, exact=True)
    name.fill(annotator)
    name.press("Enter")
    _settled(page)
    sync_api.expect(page.get_by_test_id("segk-where").first).to_contain_text(f"({annotator})")


def _tab_name(page, annotator: str) -> None:
    """Type the name and leave the box with Tab (which any version of the app commits)."""
    name = page.get_by_label(NAME_FIELD, exact=True)
    name.fill(annotator)
    name.press("Tab")
    _settled(page)


def _open(page, url: str, annotator: str, text: str) -> None:
    """Open the app, enter the annotator's name and paste ``text`` as the current document."""
    _goto(page, url)
    _set_name(page, annotator)
    _paste(page, text)


def _paste(page, text: str) -> None:
    page.get_by_label("Or paste a page", exact=False).fill(text)
    page.get_by_role("button", name="Add pasted text").click()
    first = text.splitlines()[0]
    sync_api.expect(page.get_by_test_id("stMain").get_by_text(first, exact=True).first).to_be_visible()
    _settled(page)


def _doc_id(text: str) -> str:
    from segmenter.labelling.sources import pasted_document

    return pasted_document(text).doc_id


def _goto(page, url: str) -> None:
    """Open the app and wait for its first run to have drawn the page (before it, a name
    typed into the box is replaced by the session's own)."""
    page.goto(url)
    sync_api.expect(page.get_by_text("segmenter labelling")).to_be_visible(timeout=TIMEOUT_MS)
    sync_api.expect(page.get_by_test_id("stMain").get_by_text("Mode", exact=True)).to_be_visible(
        timeout=TIMEOUT_MS
    )
    _settled(page)


def _settled(page) -> None:
    """Wait until the app's script is not running (the page is drawn)."""
    sync_api.expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=TIMEOUT_MS
    )
    page.wait_for_timeout(300)


def _screenshot(page, name: str) -> Path:
    """Save the window as ``name`` in SEGMENTER_SCREENSHOTS or tests/artifacts/ (gitignored)."""
    folder = Path(os.environ.get("SEGMENTER_SCREENSHOTS") or REPO / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    _settled(page)
    _blur(page)  # no focus ring, no open tooltip
    page.mouse.move(0, 0)
    page.wait_for_timeout(800)  # progress bars' transitions, charts drawn
    page.screenshot(path=str(path))
    return path


def _press(page, keys, delay_ms: int) -> None:
    _blur(page)
    for key in keys:
        page.keyboard.press(key)
        page.wait_for_timeout(delay_ms)


def _no_script_from_the_document(page) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # every element of the page, the component's shadow roots included
    everything = """(() => { const out = []; const walk = (root) => { for (const e of root.querySelectorAll('*')) {
                       out.push(e); if (e.shadowRoot) walk(e.shadowRoot); } }; walk(document); return out; })()"""
    assert (
        page.evaluate(
            f"{everything}.filter(e => e.tagName === 'SCRIPT' && (e.textContent || '').includes('__pwned')).length"
        )
        == 0
    )
    # Nor any element a browser would make from the document's markup or Markdown.
    made = page.evaluate(f"""{everything}.filter(e => ['STRONG', 'B', 'EM', 'A'].includes(e.tagName)
                            && /bold|tag|a link/.test(e.textContent)).map(e => e.outerHTML)""")
    assert made == []


# -- part 1: no key lost, doubled or misplaced ----------------------------------------------------
def test_keys_30_ms_apart_store_what_the_same_keys_store_a_second_apart(app, page):
    """Twenty keys (1-5, Enter, j, k, u) pressed 30 ms apart by one annotator leave the same
    (document, paragraph, label, annotator) records, in the same order, as the same keys
    pressed a second apart by another on the same page; and the screen ends where it should."""
    doc_id = _doc_id(PACE)
    _goto(page, app["url"])
    _tab_name(page, "pace-fast")
    _paste(page, PACE)
    _wait_current(page, 0)
    _press(page, PACE_KEYS, 30)
    fast = _quiet_records(app["labels"], doc_id)
    _settled(page)
    end_fast = _current(page)

    _tab_name(page, "pace-slow")
    _wait_current(page, 0)  # the second annotator starts at their own first unlabelled paragraph
    _press(page, PACE_KEYS, 1000)
    both = _quiet_records(app["labels"], doc_id)
    slow = both[len(fast) :]
    assert [r[3] for r in fast] == ["pace-fast"] * len(fast)
    assert [r[3] for r in slow] == ["pace-slow"] * len(slow)
    assert [r[:3] + r[4:] for r in fast] == [r[:3] + r[4:] for r in slow]
    _settled(page)
    assert end_fast == _current(page)

    # and both are what the session's own actions give for these keys (label and advance,
    # accept the suggestion, move, undo): nothing lost, doubled or misplaced
    import segmenter
    from segmenter.labelling.session import AnnotationSession
    from segmenter.labelling.sources import pasted_document

    sim = AnnotationSession(app["labels"].parent / "simulated", "sim", segmenter.load_model())
    sim.set_documents([pasted_document(PACE)])
    labels = dict(zip("12345", ("core-story", "related-article", "promo", "nav", "duplicate")))
    for key in PACE_KEYS:
        if key in labels:
            sim.label(labels[key])
        elif key == "Enter":
            sim.accept_suggestion()
        elif key in "jk":
            sim.move(1 if key == "j" else -1)
        else:
            sim.undo()
    expected = [(r.doc_id, r.index, r.label, r.retracted) for r in sim.store.records()]
    assert [r[:3] + r[4:] for r in fast] == expected
    assert end_fast == sim.cursor


def test_enter_and_esc_leave_the_name_box_and_the_os_user_labels_without_typing(app, page):
    text = "Name box headline\nName box paragraph one.\nName box paragraph two.\nName box three.\n"
    doc_id = _doc_id(text)
    _goto(page, app["url"])
    sync_api.expect(page.get_by_label(NAME_FIELD, exact=True)).to_have_value("os-user")  # getpass.getuser()
    _paste(page, text)
    _press(page, ["1"], 0)  # no name typed: the OS user's decision
    assert [(r.index, r.label, r.annotator) for r in _poll_records(app["labels"], 1, doc_id)] == [
        (0, "core-story", "os-user")
    ]
    for leave in ("Enter", "Escape"):
        name = page.get_by_label(NAME_FIELD, exact=True)
        name.click()
        name.fill(f"newcomer-{leave}")
        name.press(leave)
        # the keys are the page's again: once the bar shows the new name, 1 labels as it
        sync_api.expect(page.get_by_test_id("segk-where")).to_contain_text(f"(newcomer-{leave})")
        page.keyboard.press("1")
        _settled(page)
        sync_api.expect(page.get_by_label(NAME_FIELD, exact=True)).to_have_value(f"newcomer-{leave}")
    recs = _poll_records(app["labels"], 3, doc_id)
    assert [(r.index, r.label, r.annotator) for r in recs] == [
        (0, "core-story", "os-user"),
        (0, "core-story", "newcomer-Enter"),
        (0, "core-story", "newcomer-Escape"),
    ]


# -- part 2: the current paragraph and the label bar stay in view --------------------------------
def _inside(box: dict, width: int, height: int) -> bool:
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= width
        and box["y"] + box["height"] <= height
    )


def test_far_down_a_page_the_current_paragraph_and_the_label_bar_are_in_a_1280x800_window(app, small_page):
    page, main = small_page, small_page.get_by_test_id("stMain")
    _goto(page, app["url"])
    _set_name(page, "viewer")
    main.get_by_role("combobox", name="Document").click()
    page.get_by_role("option", name=SEED4).click()
    sync_api.expect(main.get_by_role("combobox", name="Document")).to_have_value(SEED4)
    _settled(page)
    _wait_current(page, 0)
    bar = page.get_by_test_id("segk-bar")
    for target in (12, 30):
        _press(page, ["j"] * (target - _current(page)), 40)
        _wait_current(page, target)
        page.wait_for_timeout(300)
        current = page.locator(CURRENT).bounding_box()
        assert _inside(current, 1280, 800), (target, current)
        assert _inside(bar.bounding_box(), 1280, 800), (target, bar.bounding_box())
        # every label button reads in full
        for name in ("core-story", "related-article", "promo", "nav", "duplicate"):
            button = bar.locator(f"button[data-act='label:{name}']")
            sync_api.expect(button).to_contain_text(name)
            assert button.evaluate("b => b.scrollWidth <= b.clientWidth")
    # a notice (here: the undo's) does not move the page: the paragraphs stay where they were
    _press(page, ["1"], 0)
    row = page.locator("[data-testid='segk-para'][data-index='30']")
    before = row.evaluate(
        "e => e.getBoundingClientRect().top + document.querySelector('[data-testid=stMain]').scrollTop"
    )
    _press(page, ["u"], 0)
    sync_api.expect(page.get_by_test_id("segk-notice")).to_contain_text("undone")
    _settled(page)
    after = row.evaluate(
        "e => e.getBoundingClientRect().top + document.querySelector('[data-testid=stMain]').scrollTop"
    )
    assert after == before
    assert _inside(page.locator(CURRENT).bounding_box(), 1280, 800)


# -- text stays text ---------------------------------------------------------------------------------
def test_a_pasted_page_shows_as_text_and_key_1_labels_its_first_paragraph(app, page):
    _open(page, app["url"], "alice", HOSTILE)
    main = page.get_by_test_id("stMain")
    # The markup and Markdown are on screen, literally, as text.
    sync_api.expect(
        main.get_by_text("Headline with <script>window.__pwned=1</script> inside", exact=True)
    ).to_be_visible()
    sync_api.expect(
        main.get_by_text(
            "A **bold** claim and <b>tag</b> with [a link](http://127.0.0.1:9/x) here.", exact=True
        )
    ).to_be_visible()
    _no_script_from_the_document(page)

    doc_id = _doc_id(HOSTILE)
    assert _records(app["labels"], doc_id) == []
    _wait_current(page, 0)
    _press(page, ["1"], 0)
    recs = _poll_records(app["labels"], 1, doc_id)
    assert [(r.index, r.label, r.annotator, r.retracted) for r in recs] == [(0, "core-story", "alice", False)]
    _wait_current(page, 1)  # labelled and advanced
    sync_api.expect(main.get_by_text("yours: core-story")).to_be_visible()

    # The preview: the document's text still literal, still no script.
    page.get_by_test_id("stSidebar").get_by_text("Preview", exact=True).click()
    sync_api.expect(main.get_by_text("clean(text)", exact=False).first).to_be_visible()
    sync_api.expect(
        main.get_by_text("Headline with <script>window.__pwned=1</script> inside", exact=True).first
    ).to_be_visible()
    _no_script_from_the_document(page)


def test_digits_typed_into_fields_label_nothing(app, page):
    text = "Fields headline\nFields paragraph one.\nFields paragraph two.\n"
    doc_id = _doc_id(text)
    _open(page, app["url"], "carol", text)
    _wait_current(page, 0)
    page.get_by_role("button", name="Bulk: range, confident").click()
    for field in (page.get_by_label("from ¶"), page.get_by_label("Or paste a page", exact=False)):
        _settled(page)
        field.click()
        page.keyboard.press("End")
        page.keyboard.type("12345")
    page.keyboard.press("Escape")
    _settled(page)
    page.get_by_label(NAME_FIELD, exact=True).click()
    page.keyboard.type("2")  # the name is now "carol2", committed on Enter below
    page.wait_for_timeout(1500)
    assert _records(app["labels"], doc_id) == []
    assert _current(page) == 0
    page.get_by_label(NAME_FIELD, exact=True).press("Enter")
    _settled(page)
    # the view labels as the new name only once the rerun has brought it (a key before that
    # is refused, with a notice): wait for the view to say so, however slow the machine
    sync_api.expect(page.get_by_text(re.compile(r"labelled by you \(carol2\)"))).to_be_visible(
        timeout=TIMEOUT_MS
    )
    page.keyboard.press("4")  # outside the fields the same key labels
    recs = _poll_records(app["labels"], 1, doc_id)
    assert [(r.index, r.label, r.annotator) for r in recs] == [(0, "nav", "carol2")]


def test_keyboard_decisions_survive_a_reload(app, page):
    text = "Reload headline\nReload paragraph one, with words.\nReload paragraph two.\nReload four.\n"
    doc_id = _doc_id(text)
    _open(page, app["url"], "bob", text)
    _press(page, ["1", "2", "4"], 30)
    _wait_current(page, 3)
    expected = [(0, "core-story"), (1, "related-article"), (2, "nav")]
    assert [(r.index, r.label) for r in _poll_records(app["labels"], 3, doc_id)] == expected

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
    page.get_by_role("button", name="Bulk: range, confident").click()
    for field, value in (("from ¶", first), ("to ¶", last)):
        _settled(page)
        page.get_by_label(field).fill(str(value))
        page.get_by_label(field).press("Enter")  # commits the number and leaves the field
        sync_api.expect(page.get_by_label(field)).to_have_value(str(value))
    page.keyboard.press("Escape")  # closes the popover
    _settled(page)
    _press(page, ["b"], 0)
    recs = _poll_records(labels, before + last - first + 1, doc_id)[before:]
    assert [(r.index, r.label) for r in recs] == [(i, "core-story") for i in range(first, last + 1)]
    _wait_current(page, last + 1)
    _settled(page)


def _press_labels(page, labels: Path, keys: str, doc_id: str, first: int) -> None:
    before = len(_records(labels, doc_id))
    _press(page, list(keys), 30)
    assert len(_poll_records(labels, before + len(keys), doc_id)) == before + len(keys)
    _wait_current(page, first + len(keys))
    _settled(page)


def test_screenshots_of_the_labelling_view_the_preview_and_the_agreement_page(app, small_page):
    """Two annotators label seed 004 with keys and the bulk range; the labelling view, the
    preview and the agreement page are saved as PNGs."""
    page, main, labels = small_page, small_page.get_by_test_id("stMain"), app["labels"]
    _goto(page, app["url"])
    _set_name(page, "dana")
    main.get_by_role("combobox", name="Document").click()
    page.get_by_role("option", name=SEED4).click()
    sync_api.expect(main.get_by_role("combobox", name="Document")).to_have_value(SEED4)
    _settled(page)
    _wait_current(page, 0)
    _bulk(page, labels, 0, 13, SEED4)
    _press_labels(page, labels, "433", SEED4, 14)  # hashtags (nav), two promo lines
    sync_api.expect(page.get_by_test_id("segk-where")).to_contain_text("17 of 35 paragraphs labelled by you")
    _screenshot(page, "app_label.png")

    page.get_by_test_id("stSidebar").get_by_text("Preview", exact=True).click()
    sync_api.expect(main.get_by_text("clean(text)", exact=False).first).to_be_visible()
    _screenshot(page, "app_preview.png")
    # every paragraph in full on the page, the dropped ones struck through
    struck = main.locator("[data-kept='false'] span[style*='line-through']")
    assert struck.count() >= 1

    page.get_by_test_id("stSidebar").get_by_text("Label", exact=True).click()
    _settled(page)
    _wait_current(page, 17)
    _press_labels(page, labels, "444", SEED4, 17)
    # a second annotator on paragraphs 10-19, disagreeing on 16 and 17
    _set_name(page, "erin")
    _wait_current(page, 0)
    _bulk(page, labels, 10, 13, SEED4)
    _press_labels(page, labels, "434344", SEED4, 14)
    mine = {(r.annotator, r.index): r.label for r in _records(labels, SEED4)}
    core, nav, promo = "core-story", "nav", "promo"
    assert [mine[("dana", i)] for i in range(20)] == [core] * 14 + [nav, promo, promo, nav, nav, nav]
    assert [mine.get(("erin", i)) for i in range(20)] == (
        [None] * 10 + [core] * 4 + [nav, promo, nav, promo, nav, nav]
    )

    page.get_by_test_id("stSidebar").get_by_text("Agreement", exact=True).click()
    sync_api.expect(main.get_by_text("2 disagreements", exact=True)).to_be_visible()
    sync_api.expect(main.get_by_test_id("stDataFrame")).to_be_visible()
    _screenshot(page, "app_agreement.png")
