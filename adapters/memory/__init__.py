"""In-process adapters: the embedded defaults, real implementations that need no server.

``memory://`` serves the key-value store, pub/sub and the event bus within one process; ``console://``
is a mailer that logs each message.
"""

from __future__ import annotations

from wealist_core import AdapterContext, AdapterSpec, Resource, hookimpl


def _keyvalue(context: AdapterContext) -> Resource:
    from wealist_adapters.memory.keyvalue import MemoryKeyValue

    return MemoryKeyValue.from_context(context)


def _pubsub(context: AdapterContext) -> Resource:
    from wealist_adapters.memory.pubsub import MemoryPubSub

    return MemoryPubSub.from_context(context)


def _eventbus(context: AdapterContext) -> Resource:
    from wealist_adapters.memory.eventbus import MemoryEventBus

    return MemoryEventBus.from_context(context)


def _mailer(context: AdapterContext) -> Resource:
    from wealist_adapters.memory.mailer import ConsoleMailer

    return ConsoleMailer.from_context(context)


@hookimpl
def wealist_register_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec("keyvalue", ("memory",), _keyvalue, "MemoryKeyValue"),
        AdapterSpec("pubsub", ("memory",), _pubsub, "MemoryPubSub"),
        AdapterSpec("eventbus", ("memory",), _eventbus, "MemoryEventBus"),
        AdapterSpec("mailer", ("console",), _mailer, "ConsoleMailer"),
    ]
