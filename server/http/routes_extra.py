"""The route groups beyond accounts and consultations, collected in one place for create_app."""

from __future__ import annotations

import importlib
import logging

from server.http.api import Api

log = logging.getLogger(__name__)

# Each module exposes `api = Api()`; order is the order in the OpenAPI document.
_MODULES = (
    "server.http.routes_officer",
    "server.http.routes_kb",
    "server.http.routes_escalation",
    "server.http.routes_rating",
    "server.http.routes_walkin",
    "server.http.routes_reports",
)


def apis() -> list[Api]:
    out: list[Api] = []
    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        out.append(module.api)
    return out
