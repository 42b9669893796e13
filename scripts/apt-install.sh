#!/usr/bin/env bash
# apt-get install PKG... as root, or with sudo when it needs no password (a prompt would hang CI).
# Exit 3, with the reason on stderr, when this machine cannot install them (no apt-get, no root).
set -euo pipefail
if ! command -v apt-get >/dev/null; then
  echo "no apt-get here to install $*" >&2; exit 3
fi
if [[ $(id -u) -eq 0 ]]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null
then sudo="sudo -n"; else
  echo "not root: install $* to go on" >&2; exit 3
fi
echo "installing $*" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
