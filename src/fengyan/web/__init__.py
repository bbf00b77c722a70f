"""The web workbench and JSON API (FastAPI + Jinja2 + htmx). See docs/web.md.

``create_app(ws, settings)`` in :mod:`fengyan.web.app` builds the application; ``fengyan
serve`` runs it with uvicorn.
"""
