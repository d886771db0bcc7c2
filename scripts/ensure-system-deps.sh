#!/usr/bin/env bash
# Installs the system services the tests start themselves (PostgreSQL, etcd, HAProxy, Prometheus),
# curl (a guide uses it)
# and what the Python packages compile with (gcc and GMP for py-libp2p's fastecdsa), and the
# browser the web page's tests drive (Chromium) when missing.
# Only Debian's packages; needs root (or sudo) only when something is actually missing.
# The Makefile runs this before it installs the Python packages.
set -euo pipefail

missing=()
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && ! command -v postgres >/dev/null 2>&1; then
    missing+=(postgresql)
fi
if ! command -v etcd >/dev/null 2>&1; then
    missing+=(etcd-server)
fi
if ! command -v haproxy >/dev/null 2>&1; then
    missing+=(haproxy)  # the load balancer of the local fleet (cluster/) and the drills
fi
if ! command -v promtool >/dev/null 2>&1; then
    missing+=(prometheus)  # the dashboards' and alert rules' checks (integration/)
fi
if ! command -v curl >/dev/null 2>&1; then
    missing+=(curl)  # the monitoring guide (docs/metrics.md) reads /metrics with it, run by tests/docs
fi
if ! command -v gcc >/dev/null 2>&1; then
    missing+=(gcc)  # fastecdsa (a py-libp2p dependency) has no wheel for every Python
fi
if ! echo '#include <gmp.h>' | gcc -E - >/dev/null 2>&1; then
    missing+=(libgmp-dev)
fi
if ! command -v chromium >/dev/null 2>&1; then
    missing+=(chromium fonts-liberation)  # tests/ui drives it through Playwright (never a downloaded browser)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing missing system packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root to install ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps Debian from starting the distribution's own services: tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
