"""The API's JSON renderer: DRF's JSON, encoded by orjson.

json's encoder called back into Python for every date (four a device row), which made encoding a tenth of a
device list call. orjson writes what DRF's encoder writes: dates in ISO 8601 with UTC as "Z" (offsets to the
minute, as every time zone's since 1900), text as UTF-8, compact separators, and U+2028 and U+2029 escaped as
DRF escapes them. Other types go through DRF's own encoder. What orjson cannot write (an integer past 64 bits,
nesting past 254 levels) and indented output fall back to DRF's renderer. Only a float may be spelled
differently (1e16 for 1e+16), never valued differently.
"""

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
_default = JSONEncoder().default


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None or self.ensure_ascii or not self.compact:
            return super().render(data, accepted_media_type, renderer_context)
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            encoded = orjson.dumps(data, default=_default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        return encoded.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
