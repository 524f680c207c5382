"""The HTTP toolkit a plugin author needs: typed routes, wire models and rendering.

Import from here (``from wealist_core.http import ApiModel, ApiRoute``), not from the modules inside.
"""

from __future__ import annotations

from pydantic import Field

from wealist_core.http.controllers import Controller, delete, get, patch, post, put, route, routes_of
from wealist_core.http.dependencies import Call, CallerId, Dependency, caller_id, user_id_of
from wealist_core.http.models import ApiModel, Page, Text
from wealist_core.http.routing import ApiRoute, read_json, render

# Field is pydantic's, re-exported so that a model's constraints (``Field(max_length=64)``) need no
# direct dependency on pydantic in a plugin's own packaging.
__all__ = [
    "ApiModel",
    "ApiRoute",
    "Call",
    "CallerId",
    "Controller",
    "Dependency",
    "Field",
    "Page",
    "Text",
    "caller_id",
    "delete",
    "get",
    "patch",
    "post",
    "put",
    "read_json",
    "render",
    "route",
    "routes_of",
    "user_id_of",
]
