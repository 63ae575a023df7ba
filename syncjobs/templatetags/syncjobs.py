"""{% sync_panel token %}: the token blade shows the sync panel without the tokens app importing syncjobs."""

from django import template

from syncjobs.views import sync_panel_context

register = template.Library()


@register.inclusion_tag("syncjobs/_sync_panel.html", takes_context=True)
def sync_panel(context, token):
    # An inclusion tag renders in a context of its own: the panel's forms need the page's CSRF token.
    return {**sync_panel_context(context["request"], token), "csrf_token": context.get("csrf_token")}
