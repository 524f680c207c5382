"""One OpenAPI document out of several processes' documents, for the split shape.

Each process builds the document of the routes it serves; the process behind the gateway's
``/api/openapi.json`` adds those of its peers. Paths and their operations are united (a path served by
several processes, such as ``/health/live``, keeps the first one's operation per method); a schema of the
same name and the same content is kept once, and one whose content differs is renamed ``<Name>_<peer>``
with every reference to it in that peer's document rewritten, so no document's meaning changes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["merge_openapi"]

_REF = "#/components/schemas/"


def merge_openapi(base: Mapping[str, Any], others: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """``base`` with the paths, schemas and tags of ``others`` (``(label, document)`` pairs) added."""
    merged = copy.deepcopy(dict(base))
    paths: dict[str, dict[str, Any]] = merged.setdefault("paths", {})
    components = merged.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    used = {op.get("operationId") for ops in paths.values() for op in ops.values() if isinstance(op, dict)}
    for label, document in others:
        other = copy.deepcopy(dict(document))
        renames: dict[str, str] = {}
        for name, schema in other.get("components", {}).get("schemas", {}).items():
            if name in schemas and schemas[name] != schema:
                renames[name] = _free(f"{name}_{label}", schemas)
        if renames:
            other = _renamed(other, renames)
        for name, schema in other.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(name, schema)
        for name, scheme in other.get("components", {}).get("securitySchemes", {}).items():
            components.setdefault("securitySchemes", {}).setdefault(name, scheme)
        for path, operations in other.get("paths", {}).items():
            target = paths.setdefault(path, {})
            for method, operation in operations.items():
                if method in target:
                    continue
                if isinstance(operation, dict) and operation.get("operationId") in used:
                    operation["operationId"] = _free(f"{operation['operationId']}_{label}", used)
                if isinstance(operation, dict):
                    used.add(operation.get("operationId"))
                target[method] = operation
        if other.get("tags"):
            tags = merged.setdefault("tags", [])
            tags += [tag for tag in other["tags"] if tag not in tags]
    merged["paths"] = dict(sorted(paths.items()))
    components["schemas"] = dict(sorted(schemas.items()))
    return merged


def _free(candidate: str, taken: Any) -> str:
    name, number = candidate, 1
    while name in taken:
        number += 1
        name = f"{candidate}{number}"
    return name


def _renamed(document: dict[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key == "$ref" and isinstance(item, str) and item.startswith(_REF):
                    name = item[len(_REF) :]
                    out[key] = _REF + renames.get(name, name)
                else:
                    out[key] = walk(item)
            return out
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    walked: dict[str, Any] = walk(document)
    schemas = walked.get("components", {}).get("schemas")
    if schemas:
        walked["components"]["schemas"] = {renames.get(k, k): v for k, v in schemas.items()}
    return walked
