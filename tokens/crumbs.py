"""The breadcrumb trail of the pages under the enrollment program tokens, whichever app draws the page."""

from django.urls import reverse

TOKENS_CRUMBS = [("Devices", None), ("iOS/iPadOS", None), ("iOS enrollment", None)]


def token_crumbs(token=None) -> list:
    """The trail to the token list, and on to the token's blade when a token is given."""
    crumbs = [*TOKENS_CRUMBS, ("Enrollment program tokens", reverse("tokens:token_list"))]
    if token is not None:
        crumbs.append((str(token), reverse("tokens:token_detail", args=[token.pk])))
    return crumbs
