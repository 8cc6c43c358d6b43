#!/bin/sh
# The hub over NATS with the `nats` CLI (natscli v0.5.0): find the service, verify an
# identity, read events.
#
#   nats-cli.sh find                       # nats micro ls, nats micro info linkage-hub
#   nats-cli.sh verify <idNumber> <name>   # a request to hub.v1.civil-registry.identity.verify
#   nats-cli.sh events [max [subject]]     # EVENTS (default subjects events.>) as a durable consumer named as you
#
# Environment: NATS_URL (default nats://127.0.0.1:4222), NATS_CREDS (the .creds file that
# `npx linkage-hub nats add-user <name> --role caller|consumer` wrote: <name> is your user, so
# your inbox prefix is _INBOX_<name> and your durable consumer is <name>; without credentials,
# NATS_USER_NAME, default "example"), HUB_URL (default
# http://127.0.0.1:3000), HUB_CLIENT_ID (default test-partner) and HUB_CLIENT_SECRET (the
# partner whose OAuth token the calls carry). Needs nats and curl.
set -eu

NATS_URL=${NATS_URL:-nats://127.0.0.1:4222}
HUB_URL=${HUB_URL:-http://127.0.0.1:3000}
HUB_CLIENT_ID=${HUB_CLIENT_ID:-test-partner}
NATS_CREDS=${NATS_CREDS:-}
export NATS_URL NATS_CREDS

if [ -n "$NATS_CREDS" ]; then NAME=$(basename "$NATS_CREDS" .creds); else NAME=${NATS_USER_NAME:-example}; fi
# A user may subscribe only below its own inbox prefix: replies come there.
nats() { command nats --inbox-prefix "_INBOX_$NAME" "$@"; }

# An access token for the partner: POST /v1/oauth/token (client credentials, HTTP Basic).
token() {
  curl -sf -u "$HUB_CLIENT_ID:${HUB_CLIENT_SECRET:?set HUB_CLIENT_SECRET (npx linkage-hub partners add --test prints it)}" \
    -d grant_type=client_credentials "$HUB_URL/v1/oauth/token" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}

case "${1:-}" in
  find)
    nats micro ls
    nats micro info linkage-hub
    ;;
  verify)
    [ $# -eq 3 ] || { echo "usage: $0 verify <idNumber> <name>" >&2; exit 64; }
    TOKEN=$(token)
    [ -n "$TOKEN" ] || { echo "no access token from $HUB_URL/v1/oauth/token for $HUB_CLIENT_ID" >&2; exit 1; }
    # Prints the reply's headers (a refusal: Nats-Service-Error-Code, the HTTP status) and body.
    nats request hub.v1.civil-registry.identity.verify "{\"idNumber\":\"$2\",\"name\":\"$3\"}" \
      -H "Authorization:Bearer $TOKEN" -H "Data-Purpose:identity-verification"
    ;;
  events)
    MAX=${2:-20}
    SUBJECT=${3:-events.>}
    # A durable pull consumer named as you, from the start of the stream; once made, each run
    # goes on where the last one stopped.
    nats consumer info EVENTS "$NAME" >/dev/null 2>&1 ||
      nats consumer add EVENTS "$NAME" --pull --deliver all --ack explicit --filter "$SUBJECT" \
        --max-deliver 5 --replay instant --defaults >/dev/null
    # One at a time, acknowledged once printed, until none comes within 2 seconds.
    COUNT=0
    while [ "$COUNT" -lt "$MAX" ]; do
      if ! EVENT=$(nats consumer next EVENTS "$NAME" --ack --raw --timeout 2s 2>&1); then
        # Nothing came: natscli says "no message received", or, when the server's 408 (pull
        # expired) status arrives first, that it cannot acknowledge it.
        case "$EVENT" in *"no message received"* | *"does not have a reply"*) break ;; *) echo "$EVENT" >&2; exit 1 ;; esac
      fi
      echo "$EVENT"
      COUNT=$((COUNT + 1))
    done
    echo "read $COUNT events as durable consumer $NAME on EVENTS"
    ;;
  *)
    sed -n '2,14s/^# \{0,1\}//p' "$0" >&2
    exit 64
    ;;
esac
