# The app image for compose.yaml (app, worker, migrate): `docker compose up --build`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone with a stub package, so this
# layer is reused until the dependency list changes.
COPY pyproject.toml README.md ./
RUN mkdir backend && touch backend/__init__.py \
    && pip install . \
    && pip uninstall -y photoshare-backend \
    && rm -rf backend build ./*.egg-info

# Then the project itself (the code changes more often than its dependencies).
COPY backend ./backend
COPY manage.py schema.graphql ./
RUN pip install --no-deps . && rm -rf build ./*.egg-info

# Root owns the code; the processes run as an unprivileged user.
RUN useradd --system --no-create-home --uid 10001 --shell /usr/sbin/nologin app
USER app

EXPOSE 8000
CMD ["gunicorn", "backend.asgi:application", "-k", "uvicorn_worker.UvicornWorker", "-b", "0.0.0.0:8000", "-w", "2"]
