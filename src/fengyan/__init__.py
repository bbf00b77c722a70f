"""Fengyan (风眼): open local financial-risk monitoring and early warning."""

__version__ = "0.1.0"
