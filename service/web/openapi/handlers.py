"""The constants of the use cases and handlers that the document states, imported in this one place."""

from service.published import MAX_COUNT_ARTICLES
from service.queue import ACTIONS, DEFAULT_LEASE_SECONDS, MAX_BULK, QUEUE_STATUSES
from service.web.middlewares import REQUEST_ID
from service.web.requests import IDEMPOTENCY_KEY

__all__ = [
    "ACTIONS",
    "DEFAULT_LEASE_SECONDS",
    "IDEMPOTENCY_KEY",
    "MAX_BULK",
    "MAX_COUNT_ARTICLES",
    "QUEUE_STATUSES",
    "REQUEST_ID",
]
