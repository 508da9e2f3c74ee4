"""JSON rendering that ignores the client's Accept header.

The API speaks only JSON, so every response is JSON whatever a client asks
for, rather than a 406 that an old app build could not handle.
"""

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer


class UTF8JSONRenderer(JSONRenderer):
    charset = "utf-8"
    ensure_ascii = False
    compact = True


class AlwaysJSONNegotiation(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
