# authz sidecar image. The build steps are the README's "Install" steps:
# install the package with the pinned constraints, then run `authz serve`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY authz ./authz
# authz/policies links to policies/: the install copies them into the package.
COPY policies ./policies
RUN pip install --no-cache-dir -c constraints.txt . \
 && useradd --system --uid 10001 --create-home --home-dir /data authz

USER authz
WORKDIR /data
# Inside a container the sidecar listens on all interfaces; the pod's network is the boundary.
ENV AUTHZ_DATABASE_URL=sqlite:////data/authz.db \
    AUTHZ_GRPC_ADDRESS=0.0.0.0:50051 \
    AUTHZ_METRICS_ADDRESS=0.0.0.0:9464
VOLUME ["/data"]
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["authz", "health", "--grpc-address", "127.0.0.1:50051"]
STOPSIGNAL SIGTERM
CMD ["authz", "serve"]
