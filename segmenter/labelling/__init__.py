"""The labelling tool behind ``annotate_app.py``: the label store (:mod:`.store`), the
annotation session (:mod:`.session`), where documents come from (:mod:`.sources`), the
app's folders (:mod:`.config`), retraining from the app (:mod:`.retrain`), agreement
between annotators (:mod:`.agreement`) and the corpus importer (:mod:`.importer`).

Nothing here imports Streamlit; the app is a thin layer over these modules.
"""
