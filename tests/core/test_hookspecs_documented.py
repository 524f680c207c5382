"""Every hook is documented in docs/plugins.md with its exact signature, and the public surface exists."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import wealist_core
import wealist_core.http
from wealist_core import hookspecs

PLUGINS_MD = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def hookspec_functions() -> list[tuple[str, Callable[..., Any]]]:
    """The functions pluggy takes as specs: those the ``hookspec`` marker decorated."""
    marker = f"{hookspecs.PROJECT}_spec"
    return sorted((name, fn) for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, marker))


def signature_text(name: str, fn: Callable[..., Any]) -> str:
    """``name(arg: Type, ...) -> Return`` as written in hookspecs.py.

    With ``from __future__ import annotations`` every annotation is a string, which ``inspect`` quotes;
    the documentation writes them without the quotes.
    """
    return f"{name}{inspect.signature(fn)}".replace("'", "")


HOOKS = hookspec_functions()


def test_hookspecs_are_found() -> None:
    names = {name for name, _ in HOOKS}
    assert {"wealist_plugin_manifest", "wealist_configure", "wealist_authenticate"} <= names
    assert all(name.startswith("wealist_") for name in names)


@pytest.mark.parametrize(("name", "fn"), HOOKS, ids=[name for name, _ in HOOKS])
def test_each_hook_is_documented_with_its_exact_signature(name: str, fn: Callable[..., Any]) -> None:
    text = PLUGINS_MD.read_text(encoding="utf-8")
    expected = signature_text(name, fn)
    assert f"`{expected}`" in text, f"docs/plugins.md lacks the signature `{expected}`"
    assert f"### `{name}`" in text, f"docs/plugins.md lacks a heading for {name}"


@pytest.mark.parametrize(("name", "fn"), HOOKS, ids=[name for name, _ in HOOKS])
def test_each_hook_has_a_docstring(name: str, fn: Callable[..., Any]) -> None:
    assert inspect.getdoc(fn), f"{name} has no docstring"


def test_the_documentation_names_no_hook_that_does_not_exist() -> None:
    import re

    text = PLUGINS_MD.read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `(wealist_\w+)`", text, flags=re.M))
    assert documented == {name for name, _ in HOOKS}


@pytest.mark.parametrize("module", [wealist_core, wealist_core.http], ids=lambda m: m.__name__)
def test_every_public_name_exists(module: Any) -> None:
    assert len(module.__all__) == len(set(module.__all__)), "a name is listed twice in __all__"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{module.__name__}.__all__ names {missing}, which do not exist"
