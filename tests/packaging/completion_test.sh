#!/usr/bin/env bash
# packaging/completions/tocsin in a real bash: COMPREPLY for a few command lines.
set -euo pipefail
completion=${1:?usage: completion_test.sh COMPLETION_FILE}
# shellcheck source=/dev/null
source "$completion"
failures=0

# complete WORD... : set COMP_WORDS to the words (the last one is being completed) and run _tocsin.
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _tocsin tocsin "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
}

# expect "WORDS" "EXPECTED REPLY (sorted, space-separated)"
expect() {
  local words=$1 want=$2
  read -r -a argv <<<"$words"
  [[ $words == *" " ]] && argv+=("")
  complete_words "${argv[@]}"
  local got
  got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' ')
  if [[ $got != "$want" ]]; then
    echo "FAIL: '$words' completed to '$got', expected '$want'" >&2
    failures=$((failures + 1))
  fi
}

expect "tocsin ch" "check"
expect "tocsin " "ack alerts check help once rules run silence test version"
expect "tocsin --v" "--version"
expect "tocsin silence " "add expire list"
expect "tocsin silence list --" "--all --config --help --tls.ca-file --tls.insecure-skip-verify --token-file --url"
expect "tocsin run --" "--compat --config --help --listen --log-format --web.config.file --web.enable-lifecycle"
expect "tocsin run --log-format " "json text"
expect "tocsin alerts --state f" "firing"
expect "tocsin rules " "export"
expect "tocsin check " "rules"

# Files for --config/-c and for test files.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
touch "$dir/tocsin.yaml" "$dir/tests.yaml"
expect "tocsin check --config $dir/toc" "$dir/tocsin.yaml"
expect "tocsin once -c $dir/toc" "$dir/tocsin.yaml"
expect "tocsin test $dir/te" "$dir/tests.yaml"

if ((failures > 0)); then
  echo "$failures completion case(s) failed" >&2
  exit 1
fi
echo "all completion cases passed"
