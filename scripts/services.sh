#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Starts the services the tests read back from: a standalone systemd-journald when this machine
# runs without systemd (containers, CI). sshd is started per test by the test fixture itself.
#
# The socket file alone proves nothing: a journald that died (end of a container session, OOM)
# leaves /run/systemd/journal/socket behind and every send gets ECONNREFUSED. So probe it by
# writing an entry, and replace a dead journald's leftovers before starting a new one.
set -euo pipefail

journal_alive() {
  [ -S /run/systemd/journal/socket ] &&
    echo "MESSAGE=flisd services.sh probe" | logger --journald 2>/dev/null
}

if journal_alive; then
  exit 0
fi
if [ ! -x /lib/systemd/systemd-journald ]; then
  echo "services: no journald reachable and /lib/systemd/systemd-journald missing;" \
       "install the systemd package (scripts/deps.sh does)" >&2
  exit 1
fi
if [ -e /run/systemd/journal/socket ]; then
  echo "services: /run/systemd/journal/socket is left from a journald that is gone; restarting it" >&2
  rm -f /run/systemd/journal/socket /run/systemd/journal/stdout /run/systemd/journal/dev-log \
        /run/systemd/journal/io.systemd.journal
fi
mkdir -p /run/systemd/journal /var/log/journal
(setsid /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &)
for _ in $(seq 1 50); do journal_alive && break; sleep 0.1; done
if journal_alive; then
  echo "services: started systemd-journald" >&2
else
  echo "services: systemd-journald did not come up; the journal tests will fail" >&2
  exit 1
fi
