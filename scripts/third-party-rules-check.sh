#!/usr/bin/env bash
# Checks rule files with promtool and with tocsin: every file `promtool check rules` accepts,
# `tocsin check rules` must accept too.
#
#   scripts/third-party-rules-check.sh [TOCSIN] -- FILE...
#
# For the counts in docs/rules.md: render the mixins' rules with jsonnet and pass those, with
# awesome-prometheus-alerts' dist/rules/**/*.yml (fetched for the check, never committed).
set -uo pipefail
tocsin=build/src/app/tocsin
if [[ $# -gt 0 && $1 != -- ]]; then tocsin=$1; shift; fi
[[ ${1:-} == -- ]] && shift
accepted=0 both=0
for f in "$@"; do
  promtool check rules "$f" >/dev/null 2>&1 || continue
  accepted=$((accepted + 1))
  if out=$("$tocsin" check rules "$f" 2>&1); then
    both=$((both + 1))
  else
    echo "tocsin refuses $f (promtool accepts it):"
    echo "$out" | head -5
  fi
done
echo "promtool accepts $accepted file(s); tocsin accepts $both of them"
[[ $both -eq $accepted ]]
