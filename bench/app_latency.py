"""Key-to-highlight latency of the labelling app in headless Chromium, against a baseline
checkout measured in the same run.

    python bench/app_latency.py [--keys 50] [--baseline main]

Starts ``streamlit run annotate_app.py`` (this checkout, and with ``--baseline REF`` that
commit's, from ``git archive``) on a free local port with a scratch label store, opens the
first seed page at 1280x800 and presses, one key at a time, ``j``/``k`` (down to the last
paragraph and back: moves) and then ``1``/``k`` alternately (a decision stored and the next
paragraph, then back: each ``1`` a store write and a run of the script). For each key it
measures, inside the page, the time from the key event to the first animation frame in which
the highlight is on the paragraph the key leads to, then waits 100 ms before the next key.
Prints p50, p95 and max per app and kind of key, and the baseline's over this checkout's.
Chromium: Debian's (``apt-get install chromium``) or SEGMENTER_CHROMIUM.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARGS = [
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
# Which paragraph is highlighted: the labelling view's row marked data-current (inside the
# component's shadow root), or else the "▶ ¶N" text the app showed before it.
CURRENT_JS = """() => {
  const walk = (root) => {
    for (const e of root.querySelectorAll('*')) {
      if (e.dataset && e.dataset.current === 'true') return Number(e.dataset.index);
      if (e.shadowRoot) { const r = walk(e.shadowRoot); if (r !== null) return r; }
    }
    return null;
  };
  const found = walk(document);
  if (found !== null) return found;
  const m = (document.querySelector('[data-testid=stMain]') || document.body).innerText.match(/^▶ ¶(\\d+)$/m);
  return m ? Number(m[1]) : null;
}"""
WAIT_JS = """async (expected) => {
  const current = CURRENT;
  const t0 = window.__keyAt;
  return await new Promise((resolve) => {
    const tick = () => {
      if (current() === expected) resolve(performance.now() - t0);
      else if (performance.now() - t0 > 20000) resolve(null);
      else requestAnimationFrame(tick);
    };
    tick();
  });
}""".replace("CURRENT", CURRENT_JS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(checkout: Path, tmp: Path, port: int) -> subprocess.Popen:
    labels, models = tmp / "labels", tmp / "models"
    models.mkdir(parents=True)
    for ext in (".joblib", ".json"):
        shutil.copy(REPO / "models" / f"segmenter{ext}", models / f"segmenter{ext}")
    env = dict(os.environ, PYTHONPATH=str(checkout))
    env.pop("SEGMENTER_ANNOTATOR", None)
    cmd = [sys.executable, "-m", "streamlit", "run", str(checkout / "annotate_app.py")]
    cmd += ["--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1"]
    cmd += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    cmd += ["--", "--labels", str(labels), "--models", str(models), "--annotator", "bench"]
    log = open(tmp / "streamlit.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None:
            break
        time.sleep(0.25)
    proc.kill()
    raise RuntimeError(f"streamlit did not start: {(tmp / 'streamlit.log').read_text(errors='replace')}")


def measure(browser, url: str, keys: int, kind: str) -> list[float]:
    """Milliseconds from each key to the frame showing its highlight (``kind``: moves or
    labels)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(url)
    page.get_by_text("segmenter labelling").wait_for()
    page.wait_for_function(f"({CURRENT_JS})() === 0", timeout=90_000)
    page.wait_for_timeout(1500)
    page.evaluate("document.addEventListener('keydown', (e) => { window.__keyAt = e.timeStamp; }, true)")
    page.evaluate("document.activeElement && document.activeElement.blur && document.activeElement.blur()")
    n = page.evaluate("document.querySelectorAll('*').length")  # warm the page up
    assert n
    cursor, step, out = 0, 1, []
    last = None
    if kind == "labels":  # 1 on paragraph 0 (stored, next is 1), k back to 0, and again
        for n in range(keys):
            key, expected = ("1", 1) if n % 2 == 0 else ("k", 0)
            page.keyboard.press(key)
            ms = page.evaluate(WAIT_JS, expected)
            if ms is not None:
                out.append(ms)
            page.wait_for_timeout(100)
        context.close()
        return out
    for _ in range(keys):
        if cursor + step < 0 or (last is not None and cursor + step > last):
            step = -step
        key = "j" if step > 0 else "k"
        page.keyboard.press(key)
        ms = page.evaluate(WAIT_JS, cursor + step)
        if ms is None:  # past the last paragraph: j does nothing there
            last = cursor
            step = -1
            continue
        cursor += step
        out.append(ms)
        page.wait_for_timeout(100)
    context.close()
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=50, help="keys per app (default 50)")
    ap.add_argument("--baseline", help="a git commit to measure too, e.g. main or a commit id")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("SEGMENTER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmpdir, sync_playwright() as pw:
        tmp = Path(tmpdir)
        apps = [("this checkout", REPO)]
        if args.baseline:
            base = tmp / "baseline"
            base.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(REPO), "archive", args.baseline], check=True, capture_output=True
            )
            subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
            apps.append((f"baseline {args.baseline}", base))
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        for name, checkout in apps:
            port = _free_port()
            proc = _serve(checkout, tmp / f"run-{port}", port)
            try:
                for kind in ("moves", "labels"):
                    results[name, kind] = measure(browser, f"http://127.0.0.1:{port}/", args.keys, kind)
            finally:
                proc.terminate()
                proc.wait(20)
        browser.close()
    for (name, kind), ms in results.items():
        print(
            f"{name}, {kind}: {len(ms)} keys, key to highlight p50 {statistics.median(ms):.0f} ms, "
            f"p95 {pct(ms, 95):.0f} ms, max {max(ms):.0f} ms"
        )
    if args.baseline:
        for kind in ("moves", "labels"):
            new, old = results["this checkout", kind], results[f"baseline {args.baseline}", kind]
            print(
                f"baseline / this checkout, {kind}: p50 {statistics.median(old) / statistics.median(new):.1f}x, "
                f"p95 {pct(old, 95) / pct(new, 95):.1f}x"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
