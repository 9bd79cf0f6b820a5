#!/usr/bin/env bash
# The scorer's churn warnings and model reloads end to end (issue 14),
# through the real collector, enricher and journey-builder, against a real
# PostgreSQL and Redis.
#
# Churn: a visitor's sessions on three days, posted as a historical batch
# with their own event times, schedule a warning (scorer_churn_due). Its
# moment is checked independently: analytics-train bgnbd --predict on the
# same visit days says the churn risk is below the alert at the end of the
# day before it and at or above it at the end of its day, and it is no later
# than last seen + LAPSE_DAYS - 72 h. Other visitors' events on the same
# partition, with later event times, move the stream's clock (no sleeping
# for days): an hour before the moment nothing is sent, just after it
# exactly one ScoreUpdate with reason churn_warning, as of that moment, its
# prediction written and its schedule deleted; a restart, and the clock
# moving on, do not send it again. A second visitor seen again before their
# moment moves their warning, and the clock passing the old moment sends
# nothing.
#
# Models: a lead model that fails to load at start exits 78 naming
# ANALYTICS_SCORER_LEAD_MODEL. A retrained lead model (another --seed)
# renamed over the file and SIGHUP while events are posted: every event
# scored once, the old model_version then the new one; a corrupt file at
# SIGHUP is logged and the model in use stays. A refitted churn model
# renamed over its file is taken without a signal; a corrupt one is logged
# once and the one in use stays.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init scorer_churn

DAY=86400000
ALERT=70
LAPSE_DAYS=90

# A lead model file that is not one: exit 78 at start, naming the variable.
printf '{"learner": ' >"$T/bad.json"
env ANALYTICS_SCORER_LEAD_MODEL="$T/bad.json" ANALYTICS_SCORER_ADMIN_LISTEN=127.0.0.1:0 \
  "$BIN/analytics-scorer" >/dev/null 2>"$T/bad_start.log"
expect_eq "a corrupt lead model at start exits 78" 78 "$?"
check "naming ANALYTICS_SCORER_LEAD_MODEL and the file" \
  grep -q "^config: ANALYTICS_SCORER_LEAD_MODEL: $T/bad.json" "$T/bad_start.log"

start_devbroker
start_redis_free redis
start_postgres_migrated pg
start_collector c1
start_enricher e1
start_journey_builder jb1

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }
q_is() { [ "$(q "$1")" = "$2" ]; }

# The models in files of the test's own, to be replaced.
cp "$SRC/deploy/models/lead.json" "$T/lead.json"
cp "$SRC/deploy/models/churn.json" "$T/churn.json"

# churn_scorer NAME: a scorer with this test's models, alert and lapse.
churn_scorer() {
  start_scorer "$1" ANALYTICS_SCORER_LEAD_MODEL="$T/lead.json" \
    ANALYTICS_SCORER_CHURN_MODEL="$T/churn.json" ANALYTICS_SCORER_CHURN_ALERT="$ALERT" \
    ANALYTICS_SCORER_LAPSE_DAYS="$LAPSE_DAYS"
}

churn_scorer s1
check "ready" wait_for 20 http_status_is "http://127.0.0.1:$SCORER_ADMIN/readyz" 200

CHROME='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
ev() { # ID FP TS PATH
  printf '{"event_id":"%s","event_type":"page_view","fingerprint":"%s","timestamp":%s,"page_url":"https://shop.example%s","consent":["necessary","analytics"]}' \
    "$1" "$2" "$3" "$4"
}
# post_events HISTORICAL EVENT...: one batch; fails the test unless all are taken.
post_events() {
  local hist="$1" body
  shift
  body="$(IFS=,; echo "$*")"
  post "{\"historical\":$hist,\"events\":[$body]}" -A "$CHROME"
  if [ "$STATUS" != 202 ] || [ "$(jq -r '.rejected | length' <<<"$BODY")" != 0 ]; then
    fail "the collector took the events ($STATUS $BODY)"
  fi
}
# The partition a fingerprint's messages go to: librdkafka's default
# partitioner (CRC-32 of the key) over the devbroker's 3 partitions.
part_of() { python3 -c 'import sys, zlib; print(zlib.crc32(sys.argv[1].encode()) % 3)' "$1"; }
# fp_on PART PREFIX: the first PREFIX-N on partition PART.
fp_on() {
  python3 -c '
import sys, zlib
p, prefix = int(sys.argv[1]), sys.argv[2]
n = 0
while zlib.crc32(f"{prefix}-{n}".encode()) % 3 != p:
    n += 1
print(f"{prefix}-{n}")' "$1" "$2"
}
# profile_has FP EVENTS: the scorer wrote FP's row with that many events.
profile_has() { q_is "SELECT events FROM user_behavior_profiles WHERE fingerprint = '$1'" "$2"; }
profile_has_at_least() { q_is "SELECT coalesce(max(events), 0) >= $2 FROM user_behavior_profiles WHERE fingerprint = '$1'" t; }
due_of() { q "SELECT (extract(epoch FROM due_at) * 1000)::bigint FROM scorer_churn_due WHERE fingerprint = '$1'"; }
has_due() { [ -n "$(due_of "$1")" ]; }
no_due() { [ -z "$(due_of "$1")" ]; }
due_after() { [ "$(due_of "$1")" -gt "$2" ]; }
warnings_of() { q "SELECT count(*) FROM ml_predictions WHERE cause_event_id LIKE 'churn:$1:%'"; }
# day_of MS: the UTC date of MS, YYYY-MM-DD.
day_of() { date -u -d "@$(($1 / 1000))" +%F; }
# risk_at FP CSV DATE: BG/NBD churn risk over 30 days at the end of DATE (analytics-train).
risk_at() {
  "$BIN/analytics-train" bgnbd --predict --model "$T/churn.json" --transactions "$2" \
    --calibration-end "$3" --horizon 30 | awk -F, -v fp="$1" '$1 == fp { print $4 }'
}

# ---- a visitor's warning, at its moment ----

today=$(($(date +%s) * 1000 / DAY * DAY))
d0=$((today - 60 * DAY + DAY / 2)) # noon UTC, 60 days ago
A=fp-churn-a
PA=$(part_of $A)
post_events true "$(ev a1 $A $d0 /)" "$(ev a2 $A $((d0 + 60000)) /pricing)" \
  "$(ev a3 $A $((d0 + 3 * DAY)) /)" "$(ev a4 $A $((d0 + 3 * DAY + 60000)) /pricing)" \
  "$(ev a5 $A $((d0 + 7 * DAY)) /)" "$(ev a6 $A $((d0 + 7 * DAY + 60000)) /book)"
last_a=$((d0 + 7 * DAY + 60000))
check "the visitor's three sessions are scored" wait_for 30 profile_has $A 6
check "a warning is scheduled for them" wait_for 10 has_due $A
due_a="$(due_of $A)"
expect_eq "on their partition, for the alert crossing" "$PA|churn_warning" \
  "$(q "SELECT kafka_partition, reason FROM scorer_churn_due WHERE fingerprint = '$A'")"
check "no later than last seen + LAPSE_DAYS - 72 h" \
  test "$due_a" -le $((last_a + LAPSE_DAYS * DAY - 72 * 3600000))
check "after last seen" test "$due_a" -gt "$last_a"
# Independently: the risk over the horizon at the end of each day, from
# analytics-train on the same visit days.
printf 'customer_id,date\n%s,%s\n%s,%s\n%s,%s\n' $A "$(day_of $d0)" $A "$(day_of $((d0 + 3 * DAY)))" \
  $A "$(day_of $((d0 + 7 * DAY)))" >"$T/tx_a.csv"
before="$(risk_at $A "$T/tx_a.csv" "$(day_of $((due_a - DAY)))")"
on="$(risk_at $A "$T/tx_a.csv" "$(day_of "$due_a")")"
echo "warning due $(date -u -d "@$((due_a / 1000))" +%FT%T): risk $before the day before, $on that day"
check "the risk is below the alert at the end of the day before" \
  awk -v r="$before" -v a=$ALERT 'BEGIN { exit !(r != "" && r * 100 < a) }'
check "and at or above it at the end of its day" \
  awk -v r="$on" -v a=$ALERT 'BEGIN { exit !(r != "" && r * 100 >= a) }'

# The stream's clock an hour before the moment: nothing is sent.
F1="$(fp_on "$PA" fill-a)"
post_events true "$(ev f1 "$F1" $((due_a - 3600000)) /)"
check "another visitor moves the partition's clock (an hour before)" wait_for 20 profile_has "$F1" 1
expect_eq "who is on the same partition" "$PA" \
  "$(q "SELECT kafka_partition FROM user_behavior_profiles WHERE fingerprint = '$F1'")"
sleep 3 # a few of the scorer's passes (one a second)
expect_eq "no warning before its moment" 0 "$(warnings_of $A)"
expect_eq "still scheduled" "$due_a" "$(due_of $A)"

# Just after it: sent.
F2="$(fp_on "$PA" fill-b)"
post_events true "$(ev f2 "$F2" $((due_a + 60000)) /)"
check "the clock past the moment sends the warning and deletes its schedule" \
  wait_for 20 no_due $A
expect_eq "one prediction, caused by the warning" "1|churn:$A:$due_a" \
  "$(q "SELECT count(*), max(cause_event_id) FROM ml_predictions WHERE cause_event_id LIKE 'churn:$A:%'")"
check "the profile's churn risk is the risk then" \
  q_is "SELECT churn_risk >= 0.699 AND churn_risk < 0.72 FROM user_behavior_profiles WHERE fingerprint = '$A'" t
check "and so is the hot profile's" \
  awk -v r="$(redis-cli -p "$REDIS_PORT" hget "analytics.profile:$A" churn_risk)" \
  'BEGIN { exit !(r >= 0.699 && r < 0.72) }'

# A restart, and the clock moving on, do not send it again.
expect_clean_stop "SIGTERM exits 0" "$SCORER_PID" 10
churn_scorer s2
F3="$(fp_on "$PA" fill-c)"
post_events true "$(ev f3 "$F3" $((due_a + 2 * DAY)) /)"
check "after a restart the clock moves on" wait_for 30 profile_has "$F3" 1
sleep 3
expect_eq "and the warning is not sent again" 1 "$(warnings_of $A)"
check "nor scheduled again" no_due $A

# ---- a visitor seen again before their moment ----

B="$(fp_on $(((PA + 1) % 3)) fp-churn-b)"
PB=$(part_of "$B")
b0=$((d0 + 10 * DAY))
post_events true "$(ev b1 "$B" $b0 /)" "$(ev b2 "$B" $((b0 + 60000)) /pricing)" \
  "$(ev b3 "$B" $((b0 + 4 * DAY)) /)" "$(ev b4 "$B" $((b0 + 4 * DAY + 60000)) /pricing)"
check "a second visitor is scored" wait_for 30 profile_has "$B" 4
check "and their warning scheduled" wait_for 10 has_due "$B"
due_b1="$(due_of "$B")"
tb=$((due_b1 - DAY)) # seen again a day before it
check "(a day before it is after they were last seen)" test "$tb" -gt $((b0 + 4 * DAY + 60000))
post_events true "$(ev b5 "$B" $tb /)"
check "their new visit is scored" wait_for 30 profile_has "$B" 5
check "and moves the warning later" wait_for 10 due_after "$B" "$due_b1"
due_b2="$(due_of "$B")"
FB="$(fp_on "$PB" fill-d)"
post_events true "$(ev fb "$FB" $((due_b1 + 60000)) /)"
check "the clock passes the old moment" wait_for 20 profile_has "$FB" 1
sleep 3
expect_eq "and nothing is sent" 0 "$(warnings_of "$B")"
expect_eq "the warning stays at its new moment" "$due_b2" "$(due_of "$B")"

# Exactly one churn_warning on scores for the first visitor, as of its moment.
dump analytics.scores score >"$T/scores.jsonl" 2>/dev/null
expect_eq "one churn_warning ScoreUpdate for the visitor, as of the moment" \
  "1 churn:$A:$due_a $due_a" \
  "$(jq -rs --arg fp $A '[.[].value | select(.fingerprint == $fp and (.reasons // [])[0] == "churn_warning")] | "\(length) \(.[0].cause_event_id) \(.[0].ts_ms)"' "$T/scores.jsonl")"
check "its risk is at the alert" \
  jq -es --arg fp $A '[.[].value | select(.fingerprint == $fp and (.reasons // [])[0] == "churn_warning")][0].churn_risk >= 0.699' "$T/scores.jsonl"
check "with the silence among its reasons" \
  jq -es --arg fp $A '[.[].value | select(.fingerprint == $fp and (.reasons // [])[0] == "churn_warning")][0].reasons | map(select(test("^not seen for"))) | length == 1' "$T/scores.jsonl"
expect_eq "and none for the visitor seen again" 0 \
  "$(jq -rs --arg fp "$B" '[.[].value | select(.fingerprint == $fp and ((.reasons // [])[0] | tostring | test("warning$")))] | length' "$T/scores.jsonl")"

# ---- models reloaded ----

old_lead="$(jq -r .learner.attributes.model_version "$T/lead.json")"
"$BIN/analytics-train" lead --data "$SRC/deploy/data/online_shoppers_intention/online_shoppers_intention.csv" \
  --holdout 0.3 --seed 7 --out "$T/lead7.json" >"$T/train.log" 2>&1
new_lead="$(jq -r .learner.attributes.model_version "$T/lead7.json")"
check "another seed, another lead model" test "$new_lead" != "$old_lead"

R=fp-reload
now=$((($(date +%s) - 120) * 1000))
# Events posted one by one while the lead model is replaced and SIGHUP sent.
(
  for i in $(seq 1 10); do
    post "{\"events\":[$(ev "r$i" $R $((now + i * 1000)) "/p$i")]}" -A "$CHROME"
    echo "$STATUS"
    sleep 0.5
  done
) >"$T/posted.txt" &
poster=$!
# The first events scored with the model in use, then the swap while the
# others are still coming.
check "the first events are scored before the swap" wait_for 20 profile_has_at_least $R 2
mv "$T/lead7.json" "$T/lead.json"
reloads="$(grep -c '"event":"scorer.models_reloaded"' "$T/s2.log")"
kill -HUP "$SCORER_PID"
check "SIGHUP reloads the models" wait_for 10 log_count_above "$T/s2.log" scorer.models_reloaded "$reloads"
expect_eq "with the new lead model" "sighup true $new_lead" \
  "$(grep '"event":"scorer.models_reloaded"' "$T/s2.log" | tail -1 | jq -r '"\(.trigger) \(.lead) \(.lead_version)"')"
wait "$poster"
expect_eq "the collector took them all" "10 202" "$(wc -l <"$T/posted.txt") $(sort -u "$T/posted.txt")"
for i in $(seq 11 20); do
  post_events false "$(ev "r$i" $R $((now + i * 1000)) "/p$i")"
done
check "every event is scored" wait_for 30 profile_has $R 20
scored_updates() {
  dump analytics.scores score 2>/dev/null |
    jq -rs --arg fp $R '[.[] | select(.value.fingerprint == $fp and (.value.cause_event_id | test("^r[0-9]+$")))] | sort_by(.offset) | .[] | "\(.value.cause_event_id) \(.value.model_version | split("+")[0])"' >"$T/reload.txt"
  [ "$(wc -l <"$T/reload.txt")" -ge 20 ]
}
check "a ScoreUpdate per event" wait_for 20 scored_updates
expect_eq "each event once, none lost" "20 20" \
  "$(awk '{ print $1 }' "$T/reload.txt" | sort -u | wc -l) $(wc -l <"$T/reload.txt")"
expect_eq "the old model, then the new one, never back" "$old_lead $new_lead" \
  "$(awk '{ print $2 }' "$T/reload.txt" | uniq | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the events after the reload all scored with the new model" "$new_lead" \
  "$(awk '$1 ~ /^r(1[1-9]|20)$/ { print $2 }' "$T/reload.txt" | sort -u)"

# A corrupt lead model at SIGHUP: logged, the model in use stays.
printf '{"learner": ' >"$T/lead.tmp" && mv "$T/lead.tmp" "$T/lead.json"
failed="$(grep -c '"event":"scorer.reload_failed"' "$T/s2.log")"
reloads="$(grep -c '"event":"scorer.models_reloaded"' "$T/s2.log")"
kill -HUP "$SCORER_PID"
check "a corrupt file at SIGHUP is logged" wait_for 10 log_count_above "$T/s2.log" scorer.reload_failed "$failed"
expect_eq "naming the variable and the file" "error ANALYTICS_SCORER_LEAD_MODEL $T/lead.json" \
  "$(grep '"event":"scorer.reload_failed"' "$T/s2.log" | tail -1 | jq -r '"\(.lvl) \(.variable) \(.path)"')"
post_events false "$(ev r21 $R $((now + 21000)) /p21)"
check "the next event is scored" wait_for 20 profile_has $R 21
# version_is FP CAUSE PREFIX: that ScoreUpdate's model_version starts with PREFIX.
version_is() {
  local v
  v="$(dump analytics.scores score 2>/dev/null |
    jq -rs --arg fp "$1" --arg c "$2" '[.[].value | select(.fingerprint == $fp and .cause_event_id == $c)][0].model_version // ""')"
  [[ "$v" == "$3"* ]]
}
check "with the lead model in use still" wait_for 10 version_is $R r21 "$new_lead+"
check "the churn model, which loaded, is taken alone" wait_for 10 log_count_above "$T/s2.log" scorer.models_reloaded "$reloads"
expect_eq "(the lead model is not)" "sighup false true" \
  "$(grep '"event":"scorer.models_reloaded"' "$T/s2.log" | tail -1 | jq -r '"\(.trigger) \(.lead) \(.churn)"')"

# The churn model refitted (another calibration end) and renamed over its
# file: taken without a signal.
"$BIN/analytics-train" bgnbd --transactions "$SRC/deploy/data/cdnow/cdnow_sample.csv" \
  --calibration-end 1997-06-30 --out "$T/churn.new" >"$T/fit.log" 2>&1
new_churn="$(jq -r .model_version "$T/churn.new")"
check "a refit, another churn model" test "$new_churn" != "$(jq -r .model_version "$T/churn.json")"
reloads="$(grep -c '"event":"scorer.models_reloaded"' "$T/s2.log")"
mv "$T/churn.new" "$T/churn.json"
check "a churn model file replaced is loaded" wait_for 10 log_count_above "$T/s2.log" scorer.models_reloaded "$reloads"
expect_eq "by itself, the new one" "file_changed false true $new_churn" \
  "$(grep '"event":"scorer.models_reloaded"' "$T/s2.log" | tail -1 | jq -r '"\(.trigger) \(.lead) \(.churn) \(.churn_version)"')"
post_events false "$(ev r22 $R $((now + 22000)) /p22)"
check "and scores from then on" wait_for 20 version_is $R r22 "$new_lead+$new_churn+"
# A corrupt one: logged once, the one in use stays.
failed="$(grep -c '"event":"scorer.reload_failed"' "$T/s2.log")"
printf '{"r": 1' >"$T/churn.tmp" && mv "$T/churn.tmp" "$T/churn.json"
check "a corrupt churn model file is logged" wait_for 10 log_count_above "$T/s2.log" scorer.reload_failed "$failed"
sleep 2.5
expect_eq "once" $((failed + 1)) "$(grep -c '"event":"scorer.reload_failed"' "$T/s2.log")"
post_events false "$(ev r23 $R $((now + 23000)) /p23)"
check "and the churn model in use stays" wait_for 20 version_is $R r23 "$new_lead+$new_churn+"

expect_clean_stop "SIGTERM exits 0" "$SCORER_PID" 10
itest_finish
