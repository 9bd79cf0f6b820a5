#!/usr/bin/env bash
# analytics-enricher --enrich-stdin: raw events as JSON lines in, enriched
# events out, with the real data files (uap-core, crawler-user-agents, Tor's
# geoip, deploy/config/pages.json); and chained after the real collector.
source "$(dirname "$0")/lib.sh"
itest_init enricher_stdin

iphone='Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1'
cat >"$T/raw.jsonl" <<JSON
{"event_id":"e1","event_type":"page_view","fingerprint":"fp1","client_ip":"81.2.69.160","user_agent":"$iphone","page_url":"https://Shop.Example:443/pricing?utm_source=google&utm_medium=cpc&gclid=abc&plan=pro#top","referrer_url":"https://www.google.com/","client_ts_ms":1764000000000,"received_ts_ms":1764000000100}
{"event_id":"e2","event_type":"page_view","fingerprint":"fp2","user_agent":"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)","page_url":"https://shop.example/services/screen-repair","client_ip":"2001:db8:1234:5678::1"}
{"event_id":"e3","event_type":"booking_started","fingerprint":"fp3","user_agent":"curl/8.0","page_url":"https://shop.example/book","referrer_url":"https://shop.example/pricing","client_ts_ms":5,"received_ts_ms":1764000000000,"clock_skew_suspect":true}
this is not json
{"event_id":"e4","fingerprint":"fp4"}
JSON
"$BIN/analytics-enricher" --enrich-stdin <"$T/raw.jsonl" >"$T/out.jsonl" 2>"$T/enricher.log"
expect_eq "a bad line makes the exit status 65" 65 "$?"
expect_eq "one output line per input line" 5 "$(wc -l <"$T/out.jsonl")"
e1="$(sed -n 1p "$T/out.jsonl")"
f() { jq -r "$1" <<<"$e1"; }
expect_eq "browser" "Mobile Safari 17.0" "$(f '"\(.ua.browser_family) \(.ua.browser_version)"')"
expect_eq "os and device" "iOS iPhone DEVICE_TYPE_MOBILE" "$(f '"\(.ua.os_family) \(.ua.device_family) \(.ua.device_type)"')"
expect_eq "country from Tor's geoip" GB "$(f .geo.country_code)"
expect_eq "IPv4 truncated to /24" 81.2.69.0 "$(f .geo.ip_truncated)"
check "the full IP appears nowhere in the output" bash -c "! grep -q '81.2.69.160' '$T/out.jsonl'"
expect_eq "paid search from gclid and cpc" CHANNEL_PAID_SEARCH "$(f .campaign.channel)"
expect_eq "UTM kept" "google cpc abc" "$(f '"\(.campaign.utm_source) \(.campaign.utm_medium) \(.campaign.gclid)"')"
expect_eq "URL normalised (host case, port, fragment, tracking parameters)" \
  "https://shop.example/pricing?plan=pro" "$(f .page.url_normalized)"
expect_eq "page type from pages.json" pricing "$(f .page.page_type)"
expect_eq "not a bot" false "$(f .bot.is_bot)"
e2="$(sed -n 2p "$T/out.jsonl")"
expect_eq "Googlebot flagged by uap's spider family" "true ua" "$(jq -r '"\(.bot.is_bot) \(.bot.reason)"' <<<"$e2")"
expect_eq "IPv6 truncated to /48" "2001:db8:1234::" "$(jq -r .geo.ip_truncated <<<"$e2")"
expect_eq "service page" service "$(jq -r .page.page_type <<<"$e2")"
e3="$(sed -n 3p "$T/out.jsonl")"
expect_eq "curl flagged by the crawler patterns" "true pattern" "$(jq -r '"\(.bot.is_bot) \(.bot.reason)"' <<<"$e3")"
expect_eq "internal referrer" CHANNEL_INTERNAL "$(jq -r .campaign.channel <<<"$e3")"
expect_eq "a skewed client clock gives way to the receive time" 1764000000000 "$(jq -r .event_ts_ms <<<"$e3")"
expect_eq "bad JSON reported in place" '4 true' "$(sed -n 4p "$T/out.jsonl" | jq -r '"\(.line) \(.error != null)"')"
check "an event without event_type is reported" bash -c "sed -n 5p '$T/out.jsonl' | jq -e '.line == 5 and (.error | test(\"event_type\"))' >/dev/null"

# Chained after the real collector: what it puts on events.raw enriches.
start_devbroker
start_collector c1
post '{"event_type":"page_view","fingerprint":"fp-chain","page_url":"https://shop.example/contact?utm_source=newsletter&utm_medium=email"}' -A "$iphone"
expect_eq "collector accepts" 202 "$STATUS"
dump analytics.events.raw raw | jq -c .value | "$BIN/analytics-enricher" --enrich-stdin >"$T/chain.jsonl" 2>>"$T/enricher.log"
expect_eq "collector output enriches cleanly" 0 "$?"
expect_eq "chained: email channel, contact page, mobile" "CHANNEL_EMAIL contact DEVICE_TYPE_MOBILE" \
  "$(jq -r '"\(.campaign.channel) \(.page.page_type) \(.ua.device_type)"' "$T/chain.jsonl")"
expect_eq "chained: loopback IP has no country but is truncated" " 127.0.0.0" \
  "$(jq -r '"\(.geo.country_code) \(.geo.ip_truncated)"' "$T/chain.jsonl")"
expect_clean_stop "collector exits 0" "$COLLECTOR_PID" 10

# Bad data files: exit 78 naming each variable.
ANALYTICS_PAGES_FILE=/nonexistent/pages.json ANALYTICS_UAP_REGEXES=/nonexistent.yaml \
  "$BIN/analytics-enricher" --enrich-stdin </dev/null 2>"$T/badcfg.err"
expect_eq "missing data files exit 78" 78 "$?"
check "names ANALYTICS_PAGES_FILE" grep -q ANALYTICS_PAGES_FILE "$T/badcfg.err"
check "names ANALYTICS_UAP_REGEXES" grep -q ANALYTICS_UAP_REGEXES "$T/badcfg.err"
itest_finish
