#!/usr/bin/env bash
# Installs the Debian packages that some tests use for real services (listed one per line in
# scripts/system-packages.txt), when they are missing. Needs root (or sudo); elsewhere it says
# what is missing and the tests that need those packages skip with that reason.
set -euo pipefail
here="$(dirname "$0")"
missing=()
while read -r pkg _; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$here/system-packages.txt"
[[ ${#missing[@]} -eq 0 ]] && exit 0
# A machine that cannot install them is not a failure: the tests that need them skip.
"$here/apt-install.sh" "${missing[@]}" || { [[ $? -eq 3 ]] && exit 0; exit 1; }
