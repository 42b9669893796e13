#!/usr/bin/env bash
# python3 -m venv FOLDER. Debian ships venv's pip bootstrap (ensurepip) in a separate package,
# python3-venv: without it venv stops half-made, so it is installed first when missing (as root,
# or with sudo that needs no password); elsewhere the message says what to install.
set -euo pipefail
folder="$1"
if ! python3 -c "import ensurepip" 2>/dev/null; then
  version=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  if command -v apt-get >/dev/null; then
    if [[ $(id -u) -eq 0 ]]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null
    then sudo="sudo -n"; else
      echo "make-venv: python3 has no ensurepip; install python${version}-venv (apt-get) and rerun" >&2
      exit 1
    fi
    echo "make-venv: installing python${version}-venv (python3 has no ensurepip)" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "python${version}-venv" >/dev/null
  else
    echo "make-venv: python3 has no ensurepip; install your system's venv package and rerun" >&2
    exit 1
  fi
fi
python3 -m venv "$folder"
