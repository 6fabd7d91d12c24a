#!/usr/bin/env bash
# The Debian package, built by cpack from this build tree and checked as a user would get it:
# dpkg-deb's view (control fields, conffiles, layout, a stripped binary and its -dbgsym), the files
# themselves (the installed config watches the installed rules, the bundled rule tests pass, the man
# page renders), the unit (systemd-analyze verify, security exposure at most 2.0) and lintian where
# it is installed. With TOCSIN_TEST_DPKG_INSTALL=1, or CI=true as root on a machine without tocsin
# installed, it also installs, upgrades (a local config edit and the state kept) and purges it.
#
#   deb_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/tocsin-deb-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
contains() { grep -qF -- "$2" <<<"$1" || fail "$3: no \"$2\" in:"$'\n'"$1"; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[[ -n $version ]] || fail "no project version in $build/CMakeCache.txt"
(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
deb=$work/out/tocsin_${version}_amd64.deb
ddeb=$work/out/tocsin-dbgsym_${version}_amd64.ddeb
[[ -f $deb ]] || fail "no $deb: $(ls "$work/out")"
[[ -f $ddeb ]] || fail "no debug symbols package $ddeb"

info=$(dpkg-deb --info "$deb")
contains "$info" "Package: tocsin" "control"
contains "$info" "Version: $version" "control"
contains "$info" "Architecture: amd64" "control"
for dep in adduser libc6 libpq5 libhiredis0.14 libyaml-cpp0.7 libre2-9; do contains "$info" "$dep" "Depends"; done
for script in postinst prerm postrm conffiles; do contains "$info" " $script" "control archive"; done
[[ $(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles) == $'/etc/tocsin/tocsin.yaml\n/etc/tocsin/rules.d/local.yaml' ]] ||
  fail "conffiles: $(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)"
contains "$(dpkg-deb --info "$ddeb")" "Depends: tocsin (= $version)" "dbgsym"

contents=$(dpkg-deb --contents "$deb" | awk '{print $1, $2, $6}')
for path in ./usr/bin/tocsin ./etc/tocsin/tocsin.yaml ./etc/tocsin/rules.d/local.yaml ./lib/systemd/system/tocsin.service \
  ./usr/share/tocsin/rules/host.yaml ./usr/share/tocsin/rules/tests/host_test.yaml ./usr/share/man/man8/tocsin.8.gz \
  ./usr/share/tocsin/runbooks/README.md ./usr/share/tocsin/runbooks/HostCpuHigh.md \
  ./usr/share/tocsin/runbooks/SLOErrorBudgetBurn.md ./usr/share/tocsin/runbooks/investigate-queue-backlog.md \
  ./usr/share/bash-completion/completions/tocsin \
  ./usr/share/doc/tocsin/copyright ./usr/share/doc/tocsin/changelog.Debian.gz ./usr/share/doc/tocsin/configuration.md; do
  contains "$contents" "$path" "contents"
done
contains "$contents" "-rwxr-xr-x root/root ./usr/bin/tocsin" "binary mode"
contains "$contents" "-rw-r--r-- root/root ./etc/tocsin/tocsin.yaml" "config mode"

root=$work/root
dpkg-deb -x "$deb" "$root"
bin=$root/usr/bin/tocsin
file "$bin" | grep -q ", stripped" || fail "the binary is not stripped: $(file "$bin")"
contains "$("$bin" version)" "tocsin, version $version" "version"
# The installed config watches the installed rule directories, and those rules load.
config=$(cat "$root/etc/tocsin/tocsin.yaml")
contains "$config" "/usr/share/tocsin/rules/*.yaml" "config rule_files"
contains "$config" "/etc/tocsin/rules.d/*.yaml" "config rule_files"
contains "$config" "runbooks_dir: /usr/share/tocsin/runbooks" "config web.runbooks_dir"
# Every installed rule's runbook_url has its page installed beside the rules.
pages=0
for name in $(sed -n "s|.*runbook_url: '{{ \$externalURL }}/runbooks/\([A-Za-z0-9_-]*\)'.*|\1|p" "$root"/usr/share/tocsin/rules/*.yaml); do
  [[ -s $root/usr/share/tocsin/runbooks/$name.md ]] || fail "no runbook installed for $name"
  pages=$((pages + 1))
done
((pages >= 49)) || fail "only $pages runbook_url annotations in the installed rules"
sed "s|/usr/share/tocsin|$root/usr/share/tocsin|; s|/etc/tocsin/rules.d|$root/etc/tocsin/rules.d|; s|/var/lib/tocsin|$work/state|" \
  "$root/etc/tocsin/tocsin.yaml" >"$work/tocsin.yaml"
check=$("$bin" check --config "$work/tocsin.yaml" 2>&1) || fail "check: $check"
# Hints on families (postgres.yaml without a postgres collector, ...) are expected: the bundled rules
# cover collectors an install may not configure. A rule_files pattern matching nothing is not.
[[ $check != *"matches no file"* ]] || fail "the installed config warns: $check"
[[ $check =~ \(([0-9]+)\ rule\ file\(s\),\ ([0-9]+)\ rule\(s\)\) ]] && ((BASH_REMATCH[1] >= 7 && BASH_REMATCH[2] >= 50)) ||
  fail "the installed config loads too few rules: $check"
"$bin" test "$root"/usr/share/tocsin/rules/tests/*.yaml >"$work/test.log" 2>&1 || {
  cat "$work/test.log"
  fail "the bundled rule tests"
}
man -l "$root/usr/share/man/man8/tocsin.8.gz" 2>/dev/null | grep -q "performance-monitoring daemon" || fail "man page"

# The unit: verified with the package's binary in place of /usr/bin/tocsin, and its exposure.
unit=$root/lib/systemd/system/tocsin.service
sed "s|/usr/bin/tocsin|$bin|g; s|^Documentation=.*|Documentation=file:///usr/share/doc/tocsin/operations.md|" "$unit" >"$work/tocsin.service"
if verify=$(systemd-analyze verify "$work/tocsin.service" 2>&1) && [[ -z $verify ]]; then :; else fail "systemd-analyze verify: $verify"; fi
exposure=$(systemd-analyze security --offline=true "$unit" 2>&1 | sed -n 's/.*Overall exposure level for tocsin.service: \([0-9.]*\).*/\1/p')
[[ -n $exposure ]] || fail "no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "systemd-analyze security: $exposure, above 2.0"
echo "unit exposure $exposure"

if command -v lintian >/dev/null; then
  lintian --fail-on error --suppress-tags dir-or-file-in-opt "$deb" || fail "lintian"
fi

install=${TOCSIN_TEST_DPKG_INSTALL:-}
if [[ -z $install && ${CI:-} == true && $(id -u) == 0 ]] && ! dpkg -s tocsin >/dev/null 2>&1; then install=1; fi
if [[ $install == 1 ]]; then
  dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
  getent passwd tocsin >/dev/null || fail "no tocsin user"
  [[ $(stat -c '%a %U' /var/lib/tocsin) == "700 tocsin" ]] || fail "state dir: $(stat -c '%a %U' /var/lib/tocsin)"
  check=$(/usr/bin/tocsin check --config /etc/tocsin/tocsin.yaml 2>&1) || fail "installed check: $check"
  [[ $check != *"matches no file"* ]] || fail "installed check warns: $check"
  systemd-analyze verify /lib/systemd/system/tocsin.service || fail "installed unit verify"
  # An upgrade keeps a local edit of the config and the state.
  echo "# a local edit" >>/etc/tocsin/tocsin.yaml
  echo keep >/var/lib/tocsin/marker
  dpkg -i "$deb" >"$work/dpkg.log" 2>&1 </dev/null || { cat "$work/dpkg.log"; fail "upgrade"; }
  [[ $(tail -1 /etc/tocsin/tocsin.yaml) == "# a local edit" ]] || fail "upgrade lost the config edit"
  [[ -f /var/lib/tocsin/marker ]] || fail "upgrade lost the state"
  dpkg --purge tocsin >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "purge"; }
  [[ ! -e /etc/tocsin && ! -e /var/lib/tocsin && ! -e /usr/bin/tocsin ]] || fail "purge left files"
  echo "installed, upgraded and purged"
fi
echo "OK: $(basename "$deb") ($(stat -c %s "$deb") bytes), $(basename "$ddeb")"
