"""The HTTP toolkit a plugin author needs: typed routes, wire models and rendering.

Import from here (``from wealist_core.http import ApiModel, ApiRoute``), not from the modules inside.
"""

from __future__ import annotations

from pydantic import Field

from wealist_core.http.models import ApiModel, Page
from wealist_core.http.routing import ApiRoute, read_json, render

# Field is pydantic's, re-exported so that a model's constraints (``Field(max_length=64)``) need no
# direct dependency on pydantic in a plugin's own packaging.
__all__ = ["ApiModel", "ApiRoute", "Field", "Page", "read_json", "render"]
