#!/usr/bin/env bash
# Starts what the test suite needs where it is not already running: PostgreSQL and Redis on their usual
# loopback ports, and installs NGINX (for the split-mode gateway tests). Idempotent; prints what it did.
set -euo pipefail

apt_install() {
  if [ "$(id -u)" != 0 ]; then echo "start-servers: need root to install $*" >&2; return 1; fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get -o DPkg::Lock::Timeout=300 update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  echo "start-servers: nothing answers on 127.0.0.1:$1" >&2; return 1
}

# PostgreSQL
if ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  if ! pg_lsclusters -h | grep -q main; then pg_createcluster "$version" main >/dev/null; fi
  conf="/etc/postgresql/$version/main"
  # Trust on loopback for the test user, as on the developers' machines.
  if ! grep -q "wealist-tests" "$conf/pg_hba.conf"; then
    sed -i '1i host all all 127.0.0.1/32 trust # wealist-tests\nhost all all ::1/128 trust # wealist-tests' "$conf/pg_hba.conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_port 5432
  echo "start-servers: started PostgreSQL $version"
fi

# Redis
if ! port_open 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379
  echo "start-servers: started Redis"
fi

# NGINX: the split-mode tests start their own instance with a generated configuration.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  apt_install nginx-light
  echo "start-servers: installed NGINX"
fi

# Coturn: the video tests start turnserver with deployments/coturn/turnserver.conf.
if ! command -v turnserver >/dev/null && [ ! -x /usr/bin/turnserver ]; then
  apt_install coturn
  echo "start-servers: installed Coturn"
fi
