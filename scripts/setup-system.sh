#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Debian packages and local services the test suite needs. Idempotent; safe to run again.
# Installs: PHP + WordPress + PHPUnit (plugin tests), Chromium (browser tests), wrk (benchmarks),
# Varnish and nginx (edge tests start their own instances on free ports; no service is enabled);
# starts Redis, MariaDB, NATS (with JetStream) and PostgreSQL if they are not running.
set -euo pipefail

PACKAGES=(php-cli php-mysql php-xml php-mbstring php-curl wordpress wordpress-theme-twentytwentythree phpunit chromium chromium-driver wrk redis-server redis-tools nginx varnish nats-server postgresql)
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup-system: run as root or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-system: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "setup-system: starting redis"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
if command -v mariadb >/dev/null && ! mariadb -uroot -e 'SELECT 1' >/dev/null 2>&1; then
  echo "setup-system: starting mariadb"
  $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
# Stream consumer tests (tests/gateway/streams) need JetStream; exports need PostgreSQL (trust, db `test`).
if ! (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then
  echo "setup-system: starting nats-server with JetStream"
  $SUDO mkdir -p /var/lib/nats-server
  $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "setup-system: starting postgresql"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
for _ in $(seq 1 30); do
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
  sleep 1
done
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "setup-system: redis is not answering" >&2; exit 1; }
for _ in $(seq 1 30); do
  mariadb -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
  sleep 1
done
mariadb -uroot -e 'SELECT 1' >/dev/null || { echo "setup-system: mariadb is not answering" >&2; exit 1; }
echo "setup-system: ready"
