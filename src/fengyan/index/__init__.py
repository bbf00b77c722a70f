"""Risk indices, grades and warnings (F3, F4): index models as data over the indicators.

``model`` loads and validates ``models/*.yaml`` and binds them to indicator columns;
``scoring`` computes dimension scores, scores, grades and contributions with numpy;
``warnings`` compares a run's grades with the previous published ones; ``publish`` writes
them to the operational database; ``service`` runs the ``index`` stage end to end.
"""
