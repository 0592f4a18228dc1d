"""The handlers' own constants the document states, imported from the route modules in this one place."""

from service.web.middlewares import REQUEST_ID
from service.web.moderation import ACTIONS, DEFAULT_LEASE_SECONDS, MAX_BULK, QUEUE_STATUSES
from service.web.public import IDEMPOTENCY_KEY, MAX_COUNT_ARTICLES

__all__ = [
    "ACTIONS",
    "DEFAULT_LEASE_SECONDS",
    "IDEMPOTENCY_KEY",
    "MAX_BULK",
    "MAX_COUNT_ARTICLES",
    "QUEUE_STATUSES",
    "REQUEST_ID",
]
