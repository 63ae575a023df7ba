"""How a webhook URL is shown to someone who may not change it."""

from urllib.parse import urlsplit


def webhook_url_for(url: str, *, full: bool) -> str:
    """The URL for administrators; only scheme and host for readers, since paths often embed a secret."""
    if full or not url:
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"
