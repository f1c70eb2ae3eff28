# syntax=docker/dockerfile:1
# The service image: one venv built by uv, run as a non-root user. The same image serves every
# process of docker-compose.yml; the command picks one (`dialer api`, `dialer worker`, ...).

FROM python:3.11-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Dependencies first, from the lock alone: this layer survives code changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --locked --no-dev --no-install-project
COPY pyproject.toml uv.lock README.md ./
COPY dialer ./dialer
COPY campaigns ./campaigns
COPY workers ./workers
COPY api ./api
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable

FROM python:3.11-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 dialer \
 && useradd --system --uid 10001 --gid dialer --home-dir /app --shell /usr/sbin/nologin dialer \
 && mkdir -p /data \
 && chown dialer:dialer /data
COPY --from=build --chown=dialer:dialer /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    DIALER_DATA_DIR=/data \
    DIALER_HOST=0.0.0.0 \
    DIALER_PORT=8000
WORKDIR /data
USER dialer
EXPOSE 8000
CMD ["dialer", "api"]
