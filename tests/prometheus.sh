#!/usr/bin/env bash
# contrib/prometheus: the scrape configuration, the rules and the
# Alertmanager route pass Prometheus's and Alertmanager's own checks, and
# the rules' unit tests (promtool test rules) pass, and fail when a rule
# says something else.
. "$CW_TESTLIB"
set -e

P="$CW_TOP/contrib/prometheus"
cp "$P"/* "$T/"
check() { # WHAT COMMAND...
    local what=$1
    shift
    if "$@" >"$T/check.out" 2>&1; then pass "$what"; else fail "$what: $(cat "$T/check.out")"; fi
}
check "promtool check rules" promtool check rules "$T/callwatch.rules.yml"
check "promtool check config" promtool check config "$T/prometheus.yml"
check "amtool check-config" amtool check-config "$T/alertmanager.yml"
check "promtool test rules" promtool test rules "$T/callwatch.rules.test.yml"
expect_match "alertmanager groups by site and kind" "$(grep -E '^\s*group_by:' "$T/alertmanager.yml")" 'group_by: \[site, kind\]'

# The tests can fail: a link threshold of 99 % hides site A's incident.
sed 's/site:callwatch_link_util:max > 0.8/site:callwatch_link_util:max > 0.99/' \
    "$P/callwatch.rules.yml" >"$T/callwatch.rules.yml"
set +e
promtool test rules "$T/callwatch.rules.test.yml" >"$T/mutant.out" 2>&1
mrc=$?
set -e
expect_eq "a changed threshold fails the rules' tests" "$mrc" 1
expect_match "and says which alert" "$(cat "$T/mutant.out")" 'CallsDroppedWithCongestion'
finish
