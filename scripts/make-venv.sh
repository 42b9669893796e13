#!/usr/bin/env bash
# python3 -m venv FOLDER. Debian ships venv's pip bootstrap (ensurepip) in a separate package,
# python3.X-venv: without it venv stops half-made, so it is installed first when missing.
set -euo pipefail
if ! python3 -c "import ensurepip" 2>/dev/null; then
  version=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  "$(dirname "$0")/apt-install.sh" "python${version}-venv"
fi
python3 -m venv "$1"
