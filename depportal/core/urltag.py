"""`{% url %}` that reverses each name and argument list once per process (a template builtin, see settings).

Every console page writes the navigation's two dozen links and a list writes one per row; Django's reverse()
walks its tables for each, which cost about a millisecond of every page. A URL depends only on the URL
configuration, the script prefix, the current application and the arguments, which are all in the key; arguments
other than numbers and text (a model instance, which reverse() turns into its changeable name) and the
`as variable` form take Django's own path.
"""

from functools import lru_cache

from django import template
from django.conf import settings
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()


@lru_cache(maxsize=4096)
def _reversed(view_name: str, args: tuple, current_app: str | None, urlconf, prefix: str) -> str:
    # `prefix` is only part of the key: reverse() reads the same thread's script prefix.
    return reverse(view_name, args=args, current_app=current_app, urlconf=urlconf)


class CachedURLNode(URLNode):
    def render(self, context):
        if self.kwargs or self.asvar:
            return super().render(context)
        args = tuple(arg.resolve(context) for arg in self.args)
        view_name = self.view_name.resolve(context)
        if not isinstance(view_name, str) or not all(type(arg) in (int, str) for arg in args):
            return super().render(context)
        try:  # as Django's URLNode finds it
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = _reversed(view_name, args, current_app, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    """Django's `{% url %}`, parsed by Django, rendered through the cache above."""
    node = django_url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
