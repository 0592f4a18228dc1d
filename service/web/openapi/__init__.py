"""The OpenAPI 3.1 document of every route the service answers, built once from the handlers' own constants."""

from service.web.openapi.document import spec
from service.web.openapi.ops import PAGES

__all__ = ["PAGES", "spec"]
