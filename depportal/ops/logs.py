"""Structured logs: one JSON object per line, carrying the Celery task and the sync job and token it works on.

DEPPORTAL_LOG_FORMAT picks json or plain (settings.LOGGING). Secrets never reach a log line through here:
extra fields whose name says secret, password, session or authorization are replaced before formatting.
"""

import contextvars
import json
import logging
import traceback
from datetime import UTC, datetime

# What the current thread is working on; set around each Celery task, read by every log line it writes.
_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("depportal_log_context", default=None)

_REDACT_WORDS = ("secret", "password", "session", "authorization", "private_key", "s_token", "oauth")
# LogRecord's own attributes; anything else on a record came from `extra=` and is logged as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def log_context() -> dict:
    """The fields (task, job_id, token_id, ...) added to every log line of the current task."""
    return dict(_context.get() or {})


def set_log_context(**fields) -> contextvars.Token:
    """Add fields to the current log context; returns the token that undoes it."""
    return _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}})


def reset_log_context(token: contextvars.Token) -> None:
    """Undo a set_log_context."""
    _context.reset(token)


def _redacted(key: str, value):
    return "[redacted]" if any(word in key.lower() for word in _REDACT_WORDS) else value


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, context, extra fields and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as a single line of JSON."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(log_context())
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _redacted(key, value)
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """The classic one-line text format, with the task context appended when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Text line plus ` [job_id=.. token_id=..]` inside a task."""
        line = super().format(record)
        context = log_context()
        if context:
            line += " [" + " ".join(f"{key}={value}" for key, value in context.items()) + "]"
        return line


def logging_config(fmt: str, level: str) -> dict:
    """settings.LOGGING for the chosen format ("json" or "plain")."""
    if fmt not in ("json", "plain"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"DEPPORTAL_LOG_FORMAT must be json or plain, not {fmt!r}.")
    formatter = "depportal.ops.logs.JsonFormatter" if fmt == "json" else "depportal.ops.logs.PlainFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": formatter}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default"}},
        "root": {"handlers": ["console"], "level": level},
        # Gunicorn and Celery log through their own loggers; route them through the same formatter.
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": level, "propagate": False},
            # At DEBUG the OAuth libraries log the access token and signed headers: never let them.
            "oauthlib": {"level": "WARNING"},
            "requests_oauthlib": {"level": "WARNING"},
        },
    }


# --- Celery: the context of each task ------------------------------------------------------------------------

_task_tokens: dict[str, contextvars.Token] = {}


def _task_started(task_id=None, task=None, args=None, kwargs=None, **_ignored) -> None:
    # Tasks add what they work on themselves (syncjobs.tasks adds job_id and token_id).
    _task_tokens[task_id] = set_log_context(task=getattr(task, "name", None), task_id=task_id)


def _task_finished(task_id=None, **_ignored) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            reset_log_context(token)
        except ValueError:  # a token made in another context (eager task in a test); just clear
            _context.set(None)


def connect_task_context() -> None:
    """Tag every log line written inside a Celery task with its task, sync job and token."""
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_started, weak=False, dispatch_uid="depportal-ops-log-context-start")
    task_postrun.connect(_task_finished, weak=False, dispatch_uid="depportal-ops-log-context-end")
