"""The simulated jurisdiction: a seeded, realistic city of firms, people and schemes.

``fengyan simulate`` writes what a city's agencies would deliver (registry, courts, tax,
social security, banks, complaints, news, ads, job posts, web monitoring) in the formats
``fengyan ingest`` reads, plus a ``ground_truth/`` folder the pipeline never reads. The
generative model is described in docs/simulation.md; its parameters are ``params.yaml``.
"""

from __future__ import annotations
