# SPDX-License-Identifier: Apache-2.0
# The Slotwise gateway image: `slotwise serve` as a non-root user, the config mounted at
# /etc/slotwise/slotwise.yaml (see deploy/kubernetes/). Build: docker build -t slotwise .
# Stage 1 builds a virtual environment; stage 2 copies only that environment (no compiler,
# no pip cache, no sources beyond the installed package).
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/slotwise
COPY pyproject.toml setup.py README.md LICENSE ./
COPY gateway ./gateway
COPY models ./models
COPY connectors ./connectors
# redis: shared profiles and events for several replicas; fast: orjson for ingestion.
RUN /opt/slotwise/bin/pip install ".[redis,fast]" \
    && /opt/slotwise/bin/pip uninstall --yes pip setuptools

FROM python:3.11-slim-bookworm
ENV PATH=/opt/slotwise/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent slotwise \
    && mkdir -p /etc/slotwise /var/lib/slotwise \
    && chown slotwise:slotwise /var/lib/slotwise
COPY --from=build /opt/slotwise /opt/slotwise
WORKDIR /var/lib/slotwise
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["slotwise"]
CMD ["serve", "--config", "/etc/slotwise/slotwise.yaml", "--host", "0.0.0.0", "--port", "8080"]
