"""``python -m segmenter.evaluate`` (also ``segmenter evaluate``): score the model on a
labelled corpus next to simple baselines; see :mod:`segmenter.evaluation.cli` for options.

The evaluation code lives in :mod:`segmenter.evaluation`; this module keeps the command and
the names it had before the code moved there.
"""

from .evaluation.cli import (
    DEFAULT_LABELS,
    DEFAULT_RESAMPLES,
    ModelRunError,
    Options,
    build_parser,
    evaluate,
    main,
)
from .evaluation.corpus import CORE_VALUES, LABEL_FIELDS, CorpusDoc, EvaluationError, iter_corpus, read_corpus
from .evaluation.figures import (
    SUBSETS,
    calibration_figures,
    line_figures,
    page_subsets,
    repeat_figures,
    standard_figures,
)
from .evaluation.folds import (
    assign_folds,
    construction_folds,
    cv_probabilities,
    grouped_folds,
    match_store,
    store_overlap,
)
from .evaluation.report import format_report, record_summary, summarize
from .evaluation.systems import (
    MIN_WORDS,
    SYSTEM_NAMES,
    Prediction,
    justext_available,
    justext_html,
    justext_lines,
    keep_everything,
    line_predictions,
    long_lines,
    model_predictions,
)

__all__ = [
    "CORE_VALUES",
    "DEFAULT_LABELS",
    "DEFAULT_RESAMPLES",
    "LABEL_FIELDS",
    "MIN_WORDS",
    "SUBSETS",
    "SYSTEM_NAMES",
    "CorpusDoc",
    "EvaluationError",
    "ModelRunError",
    "Options",
    "Prediction",
    "assign_folds",
    "build_parser",
    "calibration_figures",
    "construction_folds",
    "cv_probabilities",
    "evaluate",
    "format_report",
    "grouped_folds",
    "iter_corpus",
    "justext_available",
    "justext_html",
    "justext_lines",
    "keep_everything",
    "line_figures",
    "line_predictions",
    "long_lines",
    "main",
    "match_store",
    "model_predictions",
    "page_subsets",
    "read_corpus",
    "record_summary",
    "repeat_figures",
    "standard_figures",
    "store_overlap",
    "summarize",
]

if __name__ == "__main__":
    raise SystemExit(main())
