#!/usr/bin/env bash
# Starts the services the tests read back from: a standalone systemd-journald when this machine
# runs without systemd (containers, CI). sshd is started per test by the test fixture itself.
set -euo pipefail
if [ ! -S /run/systemd/journal/socket ] && [ -x /lib/systemd/systemd-journald ]; then
  mkdir -p /run/systemd/journal /var/log/journal
  (setsid /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &)
  for _ in $(seq 1 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
  [ -S /run/systemd/journal/socket ] && echo "services: started systemd-journald" >&2
fi
