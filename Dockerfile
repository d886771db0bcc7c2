# The server image: small, non-root, `colonies server start` as the entry point.
#   docker build -t colonies:dev .
#   docker run -e COLONIES_DB_URL=... -e COLONIES_SERVER_ID=... -p 50080:50080 colonies:dev
FROM python:3.11-slim AS build
# py-libp2p's fastecdsa compiles against GMP (the LibP2P backend, docs/protocol.md §12.3).
RUN apt-get update && apt-get install -y --no-install-recommends gcc libgmp-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY setup.cfg pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install '.[libp2p]'

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgmp10 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin colonies
COPY --from=build /install /usr/local
USER 10001
# HTTP; gRPC, CoAP (UDP) and LibP2P when COLONIES_SERVER_BACKENDS names them.
EXPOSE 50080 50051 5683/udp 5000
ENV COLONIES_SERVER_BIND=0.0.0.0 COLONIES_LOG_FORMAT=json
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:50080/health', timeout=2)"
ENTRYPOINT ["colonies", "server", "start"]
