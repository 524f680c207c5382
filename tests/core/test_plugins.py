"""The plugin host: which plugins run, and the start-up checks that refuse a set that makes no sense."""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute, Route

from wealist_core import AdapterError, AdapterSpec, PluginError, PluginManifest, Resource, Settings, hookimpl
from wealist_core.plugins import PluginHost

SettingsFactory = Callable[..., Settings]


def toy(name: str, **manifest: Any) -> type:
    """A plugin class that only describes itself."""

    class Toy:
        @hookimpl
        def wealist_plugin_manifest(self) -> PluginManifest:
            return PluginManifest(name, **manifest)

    Toy.__name__ = Toy.__qualname__ = f"Toy_{name}"
    return Toy


async def _ok(request: Any) -> Any:  # never called: the routes are only counted
    raise AssertionError


def route(path: str) -> Route:
    return Route(path, _ok)


# ------------------------------------------------------------------------------------------------ selection


def test_every_installed_plugin_runs_when_none_is_selected(settings_factory: SettingsFactory) -> None:
    host = PluginHost(settings_factory(), plugins=[toy("alpha"), toy("beta")])
    assert list(host.active) == ["alpha", "beta"]


def test_settings_plugins_selects_which_plugins_run(settings_factory: SettingsFactory) -> None:
    called: list[str] = []

    class Counted:
        @hookimpl
        def wealist_plugin_manifest(self) -> PluginManifest:
            return PluginManifest("gamma")

        @hookimpl
        def wealist_register_routes(self) -> list[BaseRoute]:
            called.append("gamma")
            return []

    host = PluginHost(settings_factory(plugins="beta"), plugins=[toy("alpha"), toy("beta"), Counted])

    assert list(host.active) == ["beta"]
    assert set(host.installed) == {"alpha", "beta", "gamma"}
    assert host.per_plugin("wealist_register_routes") == {"beta": []}
    assert called == [], "a plugin that is installed but not selected must not be called"


def test_unknown_plugin_name_is_a_start_up_error_listing_the_installed_ones(
    settings_factory: SettingsFactory,
) -> None:
    with pytest.raises(PluginError) as caught:
        PluginHost(settings_factory(plugins=("alpha", "bords")), plugins=[toy("alpha"), toy("boards")])
    message = str(caught.value)
    assert "'bords'" in message and "WEALIST_PLUGINS" in message
    assert "alpha, boards" in message


def test_two_plugins_with_one_name_are_refused(settings_factory: SettingsFactory) -> None:
    with pytest.raises(PluginError, match="Two plugins are named 'alpha'"):
        PluginHost(settings_factory(), plugins=[toy("alpha"), toy("alpha", version="2.0.0")])


def test_a_plugin_without_a_manifest_is_refused(settings_factory: SettingsFactory) -> None:
    class Anonymous:
        @hookimpl
        def wealist_register_routes(self) -> list[BaseRoute]:
            return []

    with pytest.raises(PluginError, match="does not implement wealist_plugin_manifest"):
        PluginHost(settings_factory(), plugins=[Anonymous])


def test_plugin_modules_setting_imports_a_plugin_by_path(
    settings_factory: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("toy_plugins_by_path")
    module.Delta = toy("delta")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)

    host = PluginHost(settings_factory(plugin_modules="toy_plugins_by_path:Delta"))

    assert list(host.active) == ["delta"]
    assert host.active["delta"].source == "toy_plugins_by_path:Delta"


def test_a_plugin_module_that_cannot_be_imported_names_the_setting(settings_factory: SettingsFactory) -> None:
    with pytest.raises(PluginError, match="WEALIST_PLUGIN_MODULES names 'no_such_module_here:Plugin'"):
        PluginHost(settings_factory(plugin_modules="no_such_module_here:Plugin"))


def test_a_plugin_marked_everywhere_runs_whatever_is_selected(settings_factory: SettingsFactory) -> None:
    host = PluginHost(
        settings_factory(plugins="alpha"), plugins=[toy("alpha"), toy("tokens", everywhere=True)]
    )
    assert set(host.active) == {"alpha", "tokens"}


# --------------------------------------------------------------------------------------------- route prefixes


def test_two_plugins_claiming_one_prefix_are_refused(settings_factory: SettingsFactory) -> None:
    plugins = [toy("alpha", prefixes=("/api/things",)), toy("beta", prefixes=("/api/things",))]
    with pytest.raises(PluginError, match="'alpha' and 'beta' both claim the route prefix /api/things"):
        PluginHost(settings_factory(), plugins=plugins)


@pytest.mark.parametrize(
    ("first", "second"), [("/api/boards", "/api/boards/archive"), ("/api/x/y", "/api/x")]
)
def test_nested_prefixes_of_two_plugins_are_refused(
    settings_factory: SettingsFactory, first: str, second: str
) -> None:
    plugins = [toy("alpha", prefixes=(first,)), toy("beta", prefixes=(second,))]
    with pytest.raises(PluginError, match="both claim the route prefix"):
        PluginHost(settings_factory(), plugins=plugins)


def test_prefixes_that_only_share_leading_letters_are_distinct(settings_factory: SettingsFactory) -> None:
    plugins = [toy("alpha", prefixes=("/api/board",)), toy("beta", prefixes=("/api/boards",))]
    assert set(PluginHost(settings_factory(), plugins=plugins).active) == {"alpha", "beta"}


@pytest.mark.parametrize("prefix", ["/health", "/metrics", "/internal/alpha", "/blobs", "/api/docs"])
def test_host_reserved_prefixes_cannot_be_claimed(settings_factory: SettingsFactory, prefix: str) -> None:
    with pytest.raises(PluginError, match=f"claims the prefix {prefix}, which the host reserves"):
        PluginHost(settings_factory(), plugins=[toy("alpha", prefixes=(prefix,))])


# -------------------------------------------------------------------------------------------------- needs


def test_a_need_met_by_a_plugin_of_the_same_process_starts(settings_factory: SettingsFactory) -> None:
    plugins = [toy("user", provides=("user.Directory",)), toy("board", needs=("user.Directory",))]
    assert set(PluginHost(settings_factory(), plugins=plugins).active) == {"user", "board"}


def test_a_need_met_by_a_peer_process_starts(settings_factory: SettingsFactory) -> None:
    settings = settings_factory(plugins="board", peers={"user": "http://user:8080"})
    plugins = [toy("user", provides=("user.Directory",)), toy("board", needs=("user.Directory",))]
    assert list(PluginHost(settings, plugins=plugins).active) == ["board"]


def test_an_unmet_need_of_an_installed_provider_says_to_select_it(settings_factory: SettingsFactory) -> None:
    plugins = [toy("user", provides=("user.Directory",)), toy("board", needs=("user.Directory",))]
    with pytest.raises(PluginError) as caught:
        PluginHost(settings_factory(plugins="board"), plugins=plugins)
    message = str(caught.value)
    assert "'board' needs the contract user.Directory" in message
    assert "add 'user' to WEALIST_PLUGINS" in message
    assert "WEALIST_PEERS__USER" in message


def test_an_unmet_need_without_a_provider_says_to_install_it(settings_factory: SettingsFactory) -> None:
    with pytest.raises(PluginError, match="install the plugin that provides it"):
        PluginHost(settings_factory(), plugins=[toy("board", needs=("user.Directory",))])


def test_check_false_skips_the_start_up_checks(settings_factory: SettingsFactory) -> None:
    # `wealist plugins` lists an installation even when one process of it could not start.
    host = PluginHost(settings_factory(), plugins=[toy("board", needs=("user.Directory",))], check=False)
    assert list(host.installed) == ["board"]


# ------------------------------------------------------------------------------------------------ hooks


def test_a_misspelled_hook_is_a_start_up_error_suggesting_the_real_one(
    settings_factory: SettingsFactory,
) -> None:
    class Misspelled:
        @hookimpl
        def wealist_plugin_manifest(self) -> PluginManifest:
            return PluginManifest("typo")

        @hookimpl
        def wealist_register_route(self) -> list[BaseRoute]:
            return []

    with pytest.raises(PluginError) as caught:
        PluginHost(settings_factory(), plugins=[Misspelled])
    message = str(caught.value)
    assert "Plugin 'typo' implements wealist_register_route, which is not a Wealist hook" in message
    assert "did you mean wealist_register_routes?" in message


def test_trace_hooks_logs_every_hook_call(
    settings_factory: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    class Routed:
        @hookimpl
        def wealist_plugin_manifest(self) -> PluginManifest:
            return PluginManifest("routed", prefixes=("/api/routed",))

        @hookimpl
        def wealist_register_routes(self) -> list[BaseRoute]:
            return [route("/api/routed/x")]

    caplog.set_level(logging.INFO, logger="wealist.hooks")
    traced = PluginHost(settings_factory(trace_hooks=True), plugins=[Routed])
    traced.pm.hook.wealist_register_routes()
    lines = [r.getMessage() for r in caplog.records if r.name == "wealist.hooks"]
    assert any(line.startswith("call wealist_register_routes") and "routed" in line for line in lines)
    assert any(line.startswith("done wealist_register_routes") and "/api/routed/x" in line for line in lines)

    caplog.clear()
    quiet = PluginHost(settings_factory(), plugins=[Routed])
    quiet.pm.hook.wealist_register_routes()
    assert not [r for r in caplog.records if r.name == "wealist.hooks"]


def test_per_plugin_attributes_each_result_to_its_plugin(settings_factory: SettingsFactory) -> None:
    async def handler(event: Any) -> None:
        return None

    class Alpha:
        @hookimpl
        def wealist_plugin_manifest(self) -> PluginManifest:
            return PluginManifest("alpha", prefixes=("/api/alpha",))

        @hookimpl
        def wealist_register_routes(self) -> list[BaseRoute]:
            return [route("/api/alpha/one"), route("/api/alpha/two")]

        @hookimpl
        def wealist_register_subscriptions(self) -> tuple[str, Any]:
            return ("beta.thing_done", handler)  # one pair, not a list of them

        @hookimpl
        def wealist_register_middleware(self) -> Middleware:
            return Middleware(GZipMiddleware)  # one middleware, not a list

    class Beta:
        @hookimpl
        def wealist_plugin_manifest(self) -> PluginManifest:
            return PluginManifest("beta", prefixes=("/api/beta",))

        @hookimpl
        def wealist_register_routes(self) -> BaseRoute:
            return route("/api/beta/only")  # one route, not a list

        @hookimpl
        def wealist_health_checks(self) -> dict[str, Any]:
            return {"beta_ok": handler}

    host = PluginHost(settings_factory(), plugins=[Alpha, Beta, toy("silent")])

    routes = host.per_plugin("wealist_register_routes")
    assert {name: [r.path for r in items] for name, items in routes.items()} == {  # type: ignore[attr-defined]
        "alpha": ["/api/alpha/one", "/api/alpha/two"],
        "beta": ["/api/beta/only"],
        "silent": [],
    }
    assert host.per_plugin("wealist_register_subscriptions")["alpha"] == [("beta.thing_done", handler)]
    (middleware,) = host.per_plugin("wealist_register_middleware")["alpha"]
    assert isinstance(middleware, Middleware) and middleware.cls is GZipMiddleware
    assert host.per_plugin("wealist_health_checks")["beta"] == [{"beta_ok": handler}]


# ---------------------------------------------------------------------------------------- classes, modules


def test_a_class_is_instantiated_and_a_module_registered_as_it_is(settings_factory: SettingsFactory) -> None:
    module = types.ModuleType("toy_module_plugin")
    module.wealist_plugin_manifest = hookimpl(lambda: PluginManifest("modular"))  # type: ignore[attr-defined]
    cls = toy("classy")

    host = PluginHost(settings_factory(), plugins=[module, cls])

    assert host.active["modular"].obj is module
    assert isinstance(host.active["classy"].obj, cls)
    assert host.pm.get_plugin("modular") is module


def test_two_hosts_never_share_a_plugin_instance(settings_factory: SettingsFactory) -> None:
    class Stateful:
        def __init__(self) -> None:
            self.seen: list[str] = []

        @hookimpl
        def wealist_plugin_manifest(self) -> PluginManifest:
            return PluginManifest("stateful")

    first = PluginHost(settings_factory(), plugins=[Stateful])
    second = PluginHost(settings_factory(), plugins=[Stateful])

    one, two = first.active["stateful"].obj, second.active["stateful"].obj
    assert one is not two
    one.seen.append("x")  # type: ignore[attr-defined]
    assert two.seen == []  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ adapters


def _adapters(name: str, scheme: str) -> types.ModuleType:
    module = types.ModuleType(name)

    def factory(context: Any) -> Resource:
        raise AssertionError("not built in this test")

    module.wealist_register_adapters = hookimpl(  # type: ignore[attr-defined]
        lambda: [AdapterSpec("keyvalue", (scheme,), factory, f"{name}KeyValue")]
    )
    return module


def test_explicit_adapters_are_registered_by_port_and_scheme(settings_factory: SettingsFactory) -> None:
    host = PluginHost(settings_factory(), adapters=[_adapters("toykv", "toy")])
    assert host.adapters.schemes("keyvalue") == ["toy"]
    assert (
        host.adapters.resolve("keyvalue", "toy://x", setting="WEALIST_KEYVALUE_URL").name == "toykvKeyValue"
    )


def test_two_adapters_for_one_scheme_are_refused(settings_factory: SettingsFactory) -> None:
    with pytest.raises(AdapterError, match="Two adapters serve the keyvalue port for 'toy://' URLs"):
        PluginHost(settings_factory(), adapters=[_adapters("first", "toy"), _adapters("second", "toy")])
