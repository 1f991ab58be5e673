#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Installs the Debian 12 packages flisd needs to build, test and demo; only those that are missing.
set -euo pipefail
PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libyaml-cpp-dev libssh-dev libhowardhinnant-date-dev libzstd-dev zstd
  libboost-test-dev libsystemd-dev libsqlite3-dev sqlite3 libssl-dev
  libcli11-dev nlohmann-json3-dev libarchive-dev tzdata
  openssh-server openssh-client gesftpserver systemd systemd-container scdoc clang
  prometheus-cpp-dev prometheus curl
  libpq-dev postgresql-15
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
