"""What is scored: the model's predictions and the simple baselines of the same run
(keep every line, keep lines of >= 10 words, jusText)."""

from __future__ import annotations

import html
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from . import metrics as M
from .corpus import CorpusDoc

MIN_WORDS = 10
SYSTEM_NAMES = {
    "segmenter": "segmenter",
    "keep-everything": "keep everything",
    "lines-10-words": f"lines >= {MIN_WORDS} words",
    "justext": "jusText",
}


@dataclass
class Prediction:
    """A system's output for one document: the text, and per line whether it was kept and
    (for the model) its predicted label."""

    text: str
    kept: np.ndarray | None = None
    labels: list[str] | None = None


def _from_kept(lines: Sequence[str], kept: np.ndarray) -> Prediction:
    return Prediction("\n".join(t for t, k in zip(lines, kept) if k), np.asarray(kept, dtype=bool))


def keep_everything(doc: CorpusDoc) -> Prediction:
    return _from_kept(doc.lines, np.ones(len(doc.lines), dtype=bool))


def long_lines(doc: CorpusDoc, min_words: int = MIN_WORDS) -> Prediction:
    """Keep the lines of at least ``min_words`` words (``\\w+`` tokens, as the metric counts)."""
    return _from_kept(doc.lines, np.array([len(M.tokens(t)) >= min_words for t in doc.lines], dtype=bool))


def justext_available() -> bool:
    try:
        import justext  # noqa: F401
    except ImportError:
        return False
    return True


def justext_html(lines: Sequence[str]) -> str:
    """The lines as a page for jusText: each HTML-escaped in its own <p>."""
    return "<html><body>" + "".join(f"<p>{html.escape(t)}</p>" for t in lines) + "</body></html>"


def justext_lines(lines: Sequence[str]) -> Prediction:
    """jusText with its default settings and the English stoplist; the prediction is the text
    of the paragraphs it does not call boilerplate, joined by newlines."""
    import justext

    if not lines:
        return Prediction("", np.zeros(0, dtype=bool))
    paragraphs = justext.justext(justext_html(lines), justext.get_stoplist("English"))
    text = "\n".join(p.text for p in paragraphs if not p.is_boilerplate)
    kept = None
    if len(paragraphs) == len(lines):  # one <p> per line, as it is on real pages
        kept = np.array([not p.is_boilerplate for p in paragraphs], dtype=bool)
    return Prediction(text, kept)


class _RecordingModel:
    """Passes ``predict_proba`` through to the pipeline and keeps its output, so the texts come
    from ``clean_many`` itself while the line-level figures can read the probabilities."""

    def __init__(self, pipe) -> None:
        self.pipe = pipe
        self.probas: list[np.ndarray] = []

    def predict_proba(self, X):
        out = self.pipe.predict_proba(X)
        self.probas.extend(out)
        return out


def line_predictions(lines: Sequence[str], proba: np.ndarray, threshold: float | None) -> Prediction:
    """Kept lines by the clean rule (most probable label, or p(core) >= threshold); a line's
    predicted label is core-story when kept, else its most probable other class."""
    from ..decision import core_mask, paragraph_labels

    proba = np.asarray(proba)
    if not len(lines):
        return Prediction("", np.zeros(0, dtype=bool), [])
    kept = np.asarray(core_mask(proba, threshold), dtype=bool)
    labels = paragraph_labels(proba, kept)
    pred = _from_kept(lines, kept)
    pred.labels = labels
    return pred


def model_predictions(
    docs: Sequence[CorpusDoc],
    pipe,
    threshold: float | None,
    progress: bool = False,
    warn: Callable[[str], None] = print,
) -> tuple[list[Prediction], list[np.ndarray]]:
    """``segmenter.clean_many`` over the documents; line decisions and the probabilities
    from the same model run."""
    from ..api import clean_many

    recorder = _RecordingModel(pipe)
    cleaned = clean_many((d.text for d in docs), model=recorder, threshold=threshold)
    texts = list(_progress(cleaned, len(docs), "segmenter", progress))
    if len(recorder.probas) != len(docs):
        raise RuntimeError(
            f"clean_many ran the model on {len(recorder.probas)} documents, expected {len(docs)}"
        )
    out, differ = [], 0
    for doc, text, proba in zip(docs, texts, recorder.probas):
        pred = line_predictions(doc.lines, proba, threshold)
        if pred.text != text:  # clean_many post-processed its output: score what it returns
            differ += 1
            pred = Prediction(text, None, None)
        out.append(pred)
    if differ:
        warn(
            f"warning: on {differ} documents clean_many's output is not the lines its "
            "probabilities keep; line-level figures skip those documents"
        )
    return out, recorder.probas


def _progress(items: Iterable, total: int, desc: str, enabled: bool) -> Iterable:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc=desc, unit=" docs", file=sys.stderr, leave=False)
