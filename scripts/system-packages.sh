#!/usr/bin/env bash
# Installs the Debian packages that some tests use for real services (listed one per line in
# scripts/system-packages.txt), when they are missing. Needs root (or sudo); elsewhere it says
# what is missing and the tests that need those packages skip with that reason.
set -euo pipefail
list="$(dirname "$0")/system-packages.txt"
missing=()
while read -r pkg _; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$list"
[[ ${#missing[@]} -eq 0 ]] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "system packages: no apt-get here; tests that need ${missing[*]} will skip" >&2; exit 0
fi
# sudo only when it works without a password (-n): a prompt would hang CI, and a refusal must
# not fail the run, since the tests that need the packages skip without them.
if [[ $(id -u) -eq 0 ]]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null
then sudo="sudo -n"; else
  echo "system packages: not root; install ${missing[*]} for the tests that need them" >&2; exit 0
fi
echo "system packages: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
