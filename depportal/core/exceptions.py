"""Domain errors. Services raise them; the API maps them to its error body, the console to messages."""


class ApplicationError(Exception):
    """A request that cannot be carried out, with a message for the person who made it."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra or {}


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
