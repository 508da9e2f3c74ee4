"""A Python stand-in for the iPhone app, for demos and tests against Lockstep."""

from .client import ChatPost, LockstepClient, Snapshot
from .errors import ApiError, PollTimeout
from .retry import RetryPolicy

__all__ = [
    "ApiError",
    "ChatPost",
    "LockstepClient",
    "PollTimeout",
    "RetryPolicy",
    "Snapshot",
]
