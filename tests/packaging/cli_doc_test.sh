#!/usr/bin/env bash
# docs/cli.md against the binary: every `tocsin [COMMAND] --help` text appears in it verbatim, and
# every flag those texts name appears in it, so the page cannot drift from what the binary does.
set -euo pipefail
tocsin=${1:?usage: cli_doc_test.sh TOCSIN DOC}
doc=${2:?usage: cli_doc_test.sh TOCSIN DOC}
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

for command in "" run check test rules once alerts ack silence version; do
  # shellcheck disable=SC2086
  help=$("$tocsin" $command --help) || fail "tocsin $command --help exited $?"
  # The help text, line by line in order, as one block of the page.
  python3 - "$doc" "$help" <<'PY' || fail "tocsin ${command:-(top level)} --help is not verbatim in $doc"
import sys
doc, help_text = open(sys.argv[1]).read(), sys.argv[2]
sys.exit(0 if help_text.strip("\n") in doc else 1)
PY
  mapfile -t flags < <(grep -oE '(^|[[ ,(|])--?[a-zA-Z][a-zA-Z.-]*' <<<"$help" | sed -E 's/^[[ ,(|]//' | sort -u)
  for flag in "${flags[@]}"; do
    grep -qF -- "$flag" "$doc" || fail "$flag (tocsin $command --help) is not in $doc"
  done
done
((failures == 0)) || exit 1
echo "docs/cli.md matches every --help"
