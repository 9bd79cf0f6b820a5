#!/usr/bin/env bash
# The rate limit holds the real client: behind a trusted proxy every
# X-Forwarded-For line counts (a client cannot spoof past the proxy's own
# line), IPv6 clients share one bucket per /64, an IPv4-embedding IPv6 form
# shares its IPv4's bucket, wrong write keys are limited too, and a huge or
# garbage X-Forwarded-For is answered without trusting it.
source "$(dirname "$0")/lib.sh"
itest_init collector_ratelimit

start_devbroker

# codes N [CURL ARGS...]: posts N events (argument "%i" becomes the request
# number) and sets CODES to " s1 s2 ...".
codes() {
  local n="$1" i a args
  shift
  CODES=""
  for ((i = 1; i <= n; i++)); do
    args=()
    for a in "$@"; do args+=("${a//%i/$i}"); done
    post "{\"event_type\":\"x\",\"fingerprint\":\"fp-rl-$i\"}" "${args[@]}"
    CODES="$CODES $STATUS"
  done
}

# The bucket refills one token a second, so a slow machine may let one more
# through before the first 429.
limited() { grep -Eq "^ $1 $1 $1( $1)? 429" <<<"$CODES"; }
# still_limited: a bucket just emptied stays empty for the next requests.
still_limited() { grep -Eq '^ 429 429' <<<"$CODES"; }

start_collector proxy ANALYTICS_COLLECTOR_TRUSTED_PROXIES=127.0.0.1 \
  ANALYTICS_COLLECTOR_RATE_LIMIT=1 ANALYTICS_COLLECTOR_RATE_BURST=3

# (a) The client sends its own X-Forwarded-For line, changing it every time;
# the trusted proxy (curl from 127.0.0.1 here) adds a second line with the
# address it saw. Only that address is the client's.
codes 6 -H 'X-Forwarded-For: 198.51.100.%i' -H 'X-Forwarded-For: 203.0.113.9'
check "a spoofed first X-Forwarded-For line does not escape the limit ($CODES)" limited 202
codes 1 -H 'X-Forwarded-For: 198.51.100.1' -H 'X-Forwarded-For: 203.0.113.10'
expect_eq "another real client behind the same proxy is not limited" " 202" "$CODES"
codes 1 -H 'X-Forwarded-For: 198.51.100.1, 203.0.113.11'
expect_eq "one comma-joined line still works" " 202" "$CODES"
sleep 0.5
dump analytics.events.raw raw >"$T/raw.jsonl"
expect_eq "accepted events carry the proxy-seen address, not the spoofed one" \
  "203.0.113.10 203.0.113.11 203.0.113.9" \
  "$(jq -r '.value.client_ip' "$T/raw.jsonl" | sort -u | tr '\n' ' ' | sed 's/ $//')"

# (b) Every address of one IPv6 /64 shares a bucket; another /64 has its own.
codes 6 -H 'X-Forwarded-For: 2001:db8:1:2::%i'
check "addresses in one IPv6 /64 share a bucket ($CODES)" limited 202
codes 3 -H 'X-Forwarded-For: 2001:db8:1:2:%i::%i'
check "other interface ids of that /64 are limited too ($CODES)" still_limited
codes 1 -H 'X-Forwarded-For: 2001:db8:1:3::1'
expect_eq "the next /64 is another client" " 202" "$CODES"

# An IPv4 client cannot take a second bucket through an IPv6 form that
# carries its address: 6to4 (2002:c000:24d::/48 is 192.0.2.77), NAT64
# (64:ff9b::192.0.2.77) or IPv4-mapped.
codes 6 -H 'X-Forwarded-For: 192.0.2.77'
check "an IPv4 client is limited ($CODES)" limited 202
codes 3 -H 'X-Forwarded-For: 2002:c000:24d:%i::1'
check "6to4 of a limited IPv4 is limited ($CODES)" still_limited
codes 1 -H 'X-Forwarded-For: 64:ff9b::192.0.2.77'
expect_eq "NAT64 of a limited IPv4 is limited" " 429" "$CODES"
codes 1 -H 'X-Forwarded-For: ::ffff:192.0.2.77'
expect_eq "IPv4-mapped form of a limited IPv4 is limited" " 429" "$CODES"

# A huge X-Forwarded-For (about 1,000 entries) is walked from the right only
# as far as needed, and garbage is never taken for a client.
many="$(for i in $(seq 1 1000); do printf '10.%d.%d.%d,' $((i % 200)) $((i % 7)) $((i % 250)); done)"
t0=$(date +%s%N)
codes 1 -H "X-Forwarded-For: ${many}203.0.113.50"
t1=$(date +%s%N)
expect_eq "a 1,000-entry X-Forwarded-For is answered" " 202" "$CODES"
check "within 1 s ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 1000
codes 6 -H 'X-Forwarded-For: not-an-ip-%i'
check "garbage X-Forwarded-For falls back to the proxy's address, one bucket ($CODES)" limited 202
codes 1 -H 'X-Forwarded-For: 203.0.113.60:4711'
expect_eq "an address with a port is the client's address" " 202" "$CODES"
codes 1 -H 'X-Forwarded-For: [2001:db8:9::1]:443'
expect_eq "a bracketed IPv6 address with a port is the client's address" " 202" "$CODES"
codes 1 -H 'X-Forwarded-For: fe80::1%eth0'
expect_eq "an IPv6 address with a zone id is the client's address" " 202" "$CODES"
sleep 0.5
dump analytics.events.raw raw >"$T/raw2.jsonl"
for ip in 203.0.113.50 203.0.113.60 2001:db8:9::1 fe80::1; do
  check "$ip recorded as the client" bash -c "jq -r '.value.client_ip' '$T/raw2.jsonl' | grep -qx '$ip'"
done
check "no garbage recorded as a client" bash -c "! jq -r '.value.client_ip' '$T/raw2.jsonl' | grep -q 'not-an-ip'"
check "daemon still healthy" http_status_is "http://127.0.0.1:$ADMIN_PORT/healthz" 200
expect_clean_stop "proxy collector exits 0" "$COLLECTOR_PID" 10

# A /128 prefix (configurable) gives every IPv6 address its own bucket again.
start_collector v6full ANALYTICS_COLLECTOR_TRUSTED_PROXIES=127.0.0.1 \
  ANALYTICS_COLLECTOR_RATE_LIMIT=1 ANALYTICS_COLLECTOR_RATE_BURST=3 \
  ANALYTICS_COLLECTOR_RATE_LIMIT_IPV6_PREFIX=128
codes 6 -H 'X-Forwarded-For: 2001:db8:1:2::%i'
expect_eq "with prefix 128 each IPv6 address has its own bucket" \
  " 202 202 202 202 202 202" "$CODES"
expect_clean_stop "v6full collector exits 0" "$COLLECTOR_PID" 10
# (bounded and on spare ports, so a collector that ignored the variable and
# started would neither hang the test nor take a real port)
ANALYTICS_COLLECTOR_RATE_LIMIT_IPV6_PREFIX=16 ANALYTICS_COLLECTOR_LISTEN=127.0.0.1:0 \
  ANALYTICS_COLLECTOR_ADMIN_LISTEN=127.0.0.1:0 ANALYTICS_COLLECTOR_SPOOL_DIR="$T/badprefix-spool" \
  timeout -s TERM 5 "$BIN/analytics-collector" 2>"$T/badprefix.err"
expect_eq "a prefix below 32 exits 78" 78 "$?"
check "and names the variable" grep -q ANALYTICS_COLLECTOR_RATE_LIMIT_IPV6_PREFIX "$T/badprefix.err"

# (c) A key-guessing flood is rate limited, and the right key from another
# client still works.
start_collector keys ANALYTICS_COLLECTOR_WRITE_KEYS=shop:s3cret \
  ANALYTICS_COLLECTOR_RATE_LIMIT=1 ANALYTICS_COLLECTOR_RATE_BURST=3 \
  ANALYTICS_COLLECTOR_TRUSTED_PROXIES=127.0.0.1
codes 6 -H 'X-Write-Key: guess-%i' -H 'X-Forwarded-For: 203.0.113.70'
check "wrong write keys get 429 after the burst ($CODES)" limited 401
check "that 429 carries Retry-After" bash -c "curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' \
  -H 'X-Write-Key: guess' -H 'X-Forwarded-For: 203.0.113.70' --data '{}' '$URL' | grep -qi '^retry-after: [0-9]'"
codes 1 -H 'X-Write-Key: s3cret' -H 'X-Forwarded-For: 203.0.113.71'
expect_eq "the right key from another client gets 202" " 202" "$CODES"
expect_clean_stop "keys collector exits 0" "$COLLECTOR_PID" 10
itest_finish
