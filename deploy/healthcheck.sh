#!/bin/bash
# Health check of a rumor agent: GET /v1/info on its HTTP API, healthy (exit 0) on a 200.
# Used by the container image's HEALTHCHECK and the Kubernetes readiness/liveness probes
# (docs/deploy.md). bash only (its /dev/tcp), so a check costs no Node process (~60 ms of CPU).
#   RUMOR_API_ADDR   the agent's API address (default 127.0.0.1:7373; a wildcard host is
#                    checked on loopback)
#   RUMOR_API_TOKEN  sent as "Authorization: Bearer ..." when set
# Exit 1 with one line on stderr when the agent does not answer 200 within 3 s.
set -u
addr=${RUMOR_API_ADDR:-127.0.0.1:7373}
host=${addr%:*}
port=${addr##*:}
host=${host#[}
host=${host%]}
case "$host" in 0.0.0.0) host=127.0.0.1 ;; ::) host=::1 ;; esac
if ! exec 3<>"/dev/tcp/$host/$port"; then
  echo "rumor healthcheck: cannot connect to $addr" >&2
  exit 1
fi
auth=
if [ -n "${RUMOR_API_TOKEN:-}" ]; then auth="Authorization: Bearer ${RUMOR_API_TOKEN}"$'\r\n'; fi
printf 'GET /v1/info HTTP/1.0\r\nHost: %s\r\n%s\r\n' "$addr" "$auth" >&3
if ! IFS= read -r -t 3 status <&3; then
  echo "rumor healthcheck: no answer from $addr within 3 s" >&2
  exit 1
fi
status=${status%$'\r'}
case "$status" in
  "HTTP/1."?" 200 "*) exit 0 ;;
  *) echo "rumor healthcheck: $addr answered: $status" >&2; exit 1 ;;
esac
