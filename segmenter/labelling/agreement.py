"""Inter-annotator agreement on the label store: Cohen's kappa per annotator pair, overall and
per class (one class against the rest), on the paragraphs both labelled; and the
disagreements a reviewer adjudicates."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

from ..labels import ALLOWED_LABELS
from .store import LabelRecord

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Key = tuple[str, str, int]  # (doc_id, doc_sha256, paragraph index)

#: Annotator names of imported labels (segmenter.labelling.importer): coarse labels of a
#: corpus, not a person's decisions, so agreement leaves them out unless asked.
IMPORTER_SUFFIX = "-import"
UNDEFINED = "undefined: one label only"


def is_importer(name: str) -> bool:
    """Whether ``name`` is an importer's (its labels came from a corpus, not a person)."""
    return name.endswith(IMPORTER_SUFFIX)


def readable_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`agreement_table` for reading: agreement and kappas to two decimals, an undefined
    kappa (both gave one and the same label throughout, or one class against the rest never
    varied) written as such instead of left empty."""
    out = table.copy()
    for c in out.columns:
        if c == "agreement" or c.startswith("kappa"):
            out[c] = [UNDEFINED if v is None or v != v else f"{float(v):.2f}" for v in out[c]]
    return out


def standing_decisions(
    records: Iterable[LabelRecord], *, adjudicated: bool = False
) -> dict[str, dict[Key, LabelRecord]]:
    """Per annotator (or reviewer, with ``adjudicated=True``) their latest decision per
    paragraph, retracted decisions left out. ``records`` in file order, as the store reads them."""
    latest: dict[str, dict[Key, LabelRecord]] = {}
    for rec in records:
        if rec.adjudicated != adjudicated:
            continue
        mine = latest.setdefault(rec.annotator, {})
        key = (rec.doc_id, rec.doc_sha256, rec.index)
        prev = mine.get(key)
        if prev is None or rec.time >= prev.time:
            mine[key] = rec
    return {a: {k: r for k, r in d.items() if not r.retracted} for a, d in latest.items()}


def label_maps(records: Iterable[LabelRecord]) -> dict[str, dict[Key, str]]:
    """Per annotator: paragraph -> label (their standing, non-adjudicated decisions)."""
    return {a: {k: r.label for k, r in d.items()} for a, d in standing_decisions(records).items()}


def kappa(a: Sequence[object], b: Sequence[object]) -> float | None:
    """Cohen's kappa of two label sequences; None when undefined (no items, or chance
    agreement is 1, e.g. both used one and the same label throughout)."""
    if len(a) == 0:
        return None
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = cohen_kappa_score(list(a), list(b))
    return None if k is None or math.isnan(k) else float(k)


@dataclass(frozen=True)
class PairAgreement:
    """Agreement of two annotators on the paragraphs both labelled."""

    a: str
    b: str
    n: int
    agree: int
    kappa: float | None
    per_class: dict[str, float | None]


def pair_agreement(labels: Mapping[str, Mapping[Key, str]], a: str, b: str) -> PairAgreement:
    """Kappa of ``a`` and ``b`` overall and, per label either used, one-vs-rest."""
    common = sorted(set(labels.get(a, {})) & set(labels.get(b, {})))
    ya = [labels[a][k] for k in common]
    yb = [labels[b][k] for k in common]
    used = [c for c in ALLOWED_LABELS if c in set(ya) | set(yb)]
    per_class = {c: kappa([y == c for y in ya], [y == c for y in yb]) for c in used}
    return PairAgreement(a, b, len(common), sum(x == y for x, y in zip(ya, yb)), kappa(ya, yb), per_class)


def agreement_table(
    labels: Mapping[str, Mapping[Key, str]], annotators: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per annotator pair with paragraphs in common: n, observed agreement, kappa,
    and ``kappa <label>`` per label (one-vs-rest; empty where undefined or unused)."""
    import pandas as pd

    names = sorted(annotators if annotators is not None else labels)
    rows = []
    for a, b in combinations(names, 2):
        pa = pair_agreement(labels, a, b)
        if pa.n == 0:
            continue
        row = {
            "annotator A": a,
            "annotator B": b,
            "paragraphs": pa.n,
            "agreement": pa.agree / pa.n,
            "kappa": pa.kappa,
        }
        for c in ALLOWED_LABELS:
            row[f"kappa {c}"] = pa.per_class.get(c)
        rows.append(row)
    cols = [
        "annotator A",
        "annotator B",
        "paragraphs",
        "agreement",
        "kappa",
        *[f"kappa {c}" for c in ALLOWED_LABELS],
    ]
    df = pd.DataFrame(rows, columns=cols)
    # drop per-class columns no pair used
    return df[[c for c in cols if not c.startswith("kappa ") or df[c].notna().any()]]


@dataclass(frozen=True)
class Disagreement:
    """A paragraph two or more annotators labelled differently, and any adjudication."""

    doc_id: str
    doc_sha256: str
    index: int
    labels: dict[str, str]  # annotator -> label
    adjudicated: str | None


def disagreements(
    records: Sequence[LabelRecord],
    annotators: Sequence[str] | None = None,
    *,
    include_adjudicated: bool = True,
) -> list[Disagreement]:
    """Paragraphs the given annotators (default: all) labelled differently, in document and
    paragraph order, with the standing adjudicated label if a reviewer gave one."""
    labels = label_maps(records)
    names = sorted(annotators if annotators is not None else labels)
    adjudications = standing_decisions(records, adjudicated=True)
    final: dict[Key, LabelRecord] = {}
    for d in adjudications.values():
        for k, r in d.items():
            if k not in final or r.time >= final[k].time:
                final[k] = r
    keys: dict[Key, dict[str, str]] = {}
    for a in names:
        for k, lab in labels.get(a, {}).items():
            keys.setdefault(k, {})[a] = lab
    out = []
    for k in sorted(keys):
        by = keys[k]
        if len(by) >= 2 and len(set(by.values())) > 1:
            adj = final[k].label if k in final else None
            if adj is None or include_adjudicated:
                out.append(Disagreement(k[0], k[1], k[2], dict(sorted(by.items())), adj))
    return out
