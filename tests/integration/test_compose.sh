#!/usr/bin/env bash
# docker-compose.yml stays a valid compose file (no engine runs here: Debian's
# docker-compose 1.29 validates it offline), and the settings two daemons
# must share reach both.
source "$(dirname "$0")/lib.sh"
itest_init compose

check "docker-compose config -q accepts docker-compose.yml" \
  docker-compose -f "$SRC/docker-compose.yml" config -q
docker-compose -f "$SRC/docker-compose.yml" config >"$T/resolved.yml" 2>"$T/config.err"
# service_block NAME: the lines of one service in the resolved file.
service_block() { sed -n "/^  $1:\$/,/^  [a-z]/p" "$T/resolved.yml"; }
for svc in collector journey-builder; do
  check "$svc gets ANALYTICS_RETENTION_DAYS (the collector refuses what the store would drop)" \
    grep -q 'ANALYTICS_RETENTION_DAYS' <(service_block "$svc")
done
itest_finish
