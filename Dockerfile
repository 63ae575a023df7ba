# One image for web (gunicorn), worker and beat (Celery), the migrate step and the demo's depsim.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=depportal.settings

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The code runs from /app (templates/ and static/ live beside the packages), not from site-packages.
COPY . .

# Static files are collected into the image and served by whitenoise; the two values exist only for this step.
RUN DJANGO_SECRET_KEY=collectstatic-only DEPPORTAL_ENCRYPTION_KEY=collectstatic-only \
    python manage.py collectstatic --no-input --verbosity 0

RUN useradd --system --uid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin depportal \
    && mkdir -p /app/.local /data \
    && chown depportal:depportal /app/.local /data
USER depportal

EXPOSE 8000
CMD ["gunicorn", "depportal.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
