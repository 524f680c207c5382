"""Wealist: a plugin-based host for team collaboration.

Plugin and adapter authors import from here only; modules starting with ``_`` are private.
"""

from __future__ import annotations

from wealist_core._keys import ensure_secrets
from wealist_core.adapters import AdapterContext, AdapterRegistry, AdapterSpec
from wealist_core.db import ModelRegistration, outbox_table
from wealist_core.errors import (
    AdapterError,
    AdapterUnavailable,
    BadRequest,
    ConfigurationError,
    Conflict,
    DependencyUnavailable,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PluginError,
    ProblemError,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationProblem,
    WealistError,
)
from wealist_core.hookspecs import hookimpl
from wealist_core.manifest import PluginManifest
from wealist_core.ports import (
    BlobInfo,
    BlobStore,
    Database,
    Event,
    EventBus,
    EventHandler,
    KeyValue,
    Mailer,
    MailMessage,
    MediaParticipant,
    MediaRecording,
    MediaRecordingFile,
    MediaRooms,
    MediaWebhook,
    MultipartUploads,
    PresignedUrl,
    PubSub,
    Resource,
    Subscription,
    UnitOfWork,
    UploadPart,
)
from wealist_core.security import Principal
from wealist_core.settings import PluginSettings, Settings

__version__ = "0.1.0"

__all__ = [
    "AdapterContext",
    "AdapterError",
    "AdapterRegistry",
    "AdapterSpec",
    "AdapterUnavailable",
    "BadRequest",
    "BlobInfo",
    "BlobStore",
    "ConfigurationError",
    "Conflict",
    "Database",
    "DependencyUnavailable",
    "Event",
    "EventBus",
    "EventHandler",
    "Forbidden",
    "KeyValue",
    "MailMessage",
    "Mailer",
    "MediaParticipant",
    "MediaRecording",
    "MediaRecordingFile",
    "MediaRooms",
    "MediaWebhook",
    "ModelRegistration",
    "MultipartUploads",
    "NotFound",
    "PayloadTooLarge",
    "PluginError",
    "PluginManifest",
    "PluginSettings",
    "PresignedUrl",
    "Principal",
    "ProblemError",
    "PubSub",
    "RateLimited",
    "Resource",
    "ServiceUnavailable",
    "Settings",
    "Subscription",
    "Unauthorized",
    "UnitOfWork",
    "UnsupportedMediaType",
    "UploadPart",
    "ValidationProblem",
    "WealistError",
    "ensure_secrets",
    "hookimpl",
    "outbox_table",
]

# Rate limits on the key-value port, and the bounded buffer every pub/sub adapter's subscriptions use.
from wealist_core.ratelimit import RateDecision, RateLimiter
from wealist_core.subscription_buffer import BufferedSubscription

__all__ += ["BufferedSubscription", "RateDecision", "RateLimiter"]

# What a plugin's hooks receive and what its contract module is decorated with.
from wealist_core.container import Container  # noqa: E402
from wealist_core.contracts import cacheable, contract  # noqa: E402

__all__ += ["Container", "cacheable", "contract"]

# What every event bus adapter shares (options, subscriptions, wire format), and what its operators read.
from wealist_core.eventbus import DeadLetter, EventBusOptions, EventSubscriptions  # noqa: E402

__all__ += ["DeadLetter", "EventBusOptions", "EventSubscriptions"]

# The toolkit every domain plugin shares: typed events, the column types and naming of its tables.
from wealist_core.db import NAMING_CONVENTION, Clock, UtcDateTime, plugin_metadata, utcnow  # noqa: E402
from wealist_core.events import DomainEvent, subscribe  # noqa: E402
from wealist_core.ports import BoundDatabase  # noqa: E402

__all__ += [
    "NAMING_CONVENTION",
    "BoundDatabase",
    "Clock",
    "DomainEvent",
    "UtcDateTime",
    "plugin_metadata",
    "subscribe",
    "utcnow",
]

# Periodic jobs a plugin registers with wealist_register_jobs, and what each run receives.
from wealist_core.jobs import Job, JobContext  # noqa: E402

__all__ += ["Job", "JobContext"]

# Uploads through the blob store: the policy checked before signing, the pending records, attach and purge.
from wealist_core.uploads import (  # noqa: E402
    DOCUMENTS,
    EXECUTABLES,
    RASTER_IMAGES,
    VIDEOS,
    DenyList,
    IssuedUpload,
    Upload,
    UploadIn,
    UploadOut,
    UploadPolicy,
    Uploads,
    uploads_table,
)

__all__ += [
    "DOCUMENTS",
    "EXECUTABLES",
    "RASTER_IMAGES",
    "VIDEOS",
    "DenyList",
    "IssuedUpload",
    "Upload",
    "UploadIn",
    "UploadOut",
    "UploadPolicy",
    "Uploads",
    "uploads_table",
]
