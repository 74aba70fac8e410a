"""Evaluation and research code: reading a labelled corpus (:mod:`.corpus`), the systems
scored (:mod:`.systems`: the model and the baselines of the same run), fold schemes shared
with training (:mod:`.folds`), the standard metric (:mod:`.metrics`), the figures of a run
(:mod:`.figures`), the report (:mod:`.report`), pages with other stories placed in them
(:mod:`.construct`) and the ``segmenter evaluate`` command (:mod:`.cli`).
"""
