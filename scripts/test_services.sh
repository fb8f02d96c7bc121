#!/usr/bin/env bash
# What the test suite needs besides the venv, for `make test` and CI alike: Debian's Chromium
# (Playwright's own browser download does not work on these machines), Node.js (the chat page's
# script runs under node), and PostgreSQL and Redis running on loopback.
#
# Installs what is missing when it can (as root, or through sudo); otherwise names the packages
# to install. What it cannot provide is written to var/test-services.env, which `make unit`
# reads, so that the PostgreSQL or Redis tests are skipped with the reason printed, not silently.
set -uo pipefail
cd "$(dirname "$0")/.."
# var/ holds password hashes, transcripts and secrets once the assistant runs: private from the start.
( umask 077 && mkdir -p var )
env_file=var/test-services.env
( umask 077 && : > "$env_file" )

say() { echo "test set-up: $*"; }

can_root=1
if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  as_root=()
  can_root=0
fi

apt_updated=
apt_install() {  # apt_install PACKAGE...: 0 when installed
  if [ "$can_root" = 0 ] || ! command -v apt-get >/dev/null; then
    return 1
  fi
  say "installing $* from Debian's packages (takes a minute or two the first time)"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then
    "${as_root[@]}" apt-get update -qq >/dev/null && apt_updated=1
  fi
  "${as_root[@]}" apt-get install -y -qq "$@" >/dev/null
}

missing_tools=()
command -v node >/dev/null || apt_install nodejs || missing_tools+=(nodejs)
[ -x /usr/bin/chromium ] || apt_install chromium || missing_tools+=(chromium)
if [ ${#missing_tools[@]} -gt 0 ]; then
  echo "test set-up: cannot install ${missing_tools[*]} (needs root or sudo)." >&2
  echo "  Install them, then run make test again:  sudo apt-get install ${missing_tools[*]}" >&2
  exit 1
fi

# PostgreSQL: the storage tests run on it as well as on SQLite.
postgres_up() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1; }
if ! postgres_up; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql || true
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    say "starting PostgreSQL"
    "${as_root[@]}" pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start \
      2>/dev/null || true
    for _ in $(seq 30); do postgres_up && break; sleep 1; done
  fi
fi
if ! postgres_up && [ -z "${COACH_TEST_POSTGRES_URL:-}" ]; then
  echo "test set-up: PostgreSQL is not running on 127.0.0.1:5432 and could not be installed or started." >&2
  echo "  Its tests will be SKIPPED. To run them: sudo apt-get install postgresql, start it, run make test again." >&2
  echo "COACH_SKIP_POSTGRES=1" >> "$env_file"
fi

# Redis: the production-stores tests keep Rasa's lock in it.
redis_up() { command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; }
if ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server || true
  if command -v redis-server >/dev/null; then
    say "starting Redis"
    "${as_root[@]}" mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    "${as_root[@]}" redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 || true
    for _ in $(seq 30); do redis_up && break; sleep 1; done
  fi
fi
if ! redis_up && [ -z "${COACH_TEST_REDIS_URL:-}" ]; then
  echo "test set-up: Redis is not running on 127.0.0.1:6379 and could not be installed or started." >&2
  echo "  Its tests will be SKIPPED. To run them: sudo apt-get install redis-server, start it, run make test again." >&2
  echo "COACH_SKIP_REDIS=1" >> "$env_file"
fi

say "Chromium, Node.js$(postgres_up && echo ', PostgreSQL')$(redis_up && echo ', Redis') ready"
