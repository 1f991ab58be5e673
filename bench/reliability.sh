#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Regenerates docs/reliability.md from runs: the long fault-injection runs (bench/faults.sh), the
# fuzzers (each for FUZZ_SECONDS under ASan+UBSan) and, if it was run, scripts/sanitize.sh.
#
#   bench/reliability.sh                          # everything: faults, 10 min per fuzzer
#   SKIP_FAULTS=1 SKIP_FUZZ=1 bench/reliability.sh  # only rewrite the page from the last results
#
# Results are kept in $BUILD_DIR/reliability/ (faults.log, fuzz_<target>.log, sanitize.log), so the page can
# be rewritten without running everything again. Needs root (tmpfs mounts; scripts/fuzz.sh installs
# clang-16) and a build in BUILD_DIR (default build) for the faults.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
RESULTS=${RESULTS:-$BUILD_DIR/reliability}
FUZZ_DIR=${FUZZ_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
mkdir -p "$RESULTS"

[ -n "${SKIP_FAULTS:-}" ] || OUT=$RESULTS/faults.log bench/faults.sh || true

# Fuzzers: scripts/fuzz.sh builds them with clang-16, ASan and UBSan and runs each for FUZZ_SECONDS.
[ -n "${SKIP_FUZZ:-}" ] || FUZZ_DIR=$FUZZ_DIR RESULTS=$RESULTS scripts/fuzz.sh "$FUZZ_SECONDS" || true

# ---- the page ---------------------------------------------------------------------------------
{
  echo "# Reliability: faults and hostile input"
  echo
  echo "Written by \`bench/reliability.sh\` from the runs themselves ($(date -u +%Y-%m-%d), commit"
  echo "$(git rev-parse --short HEAD)); do not edit by hand. The same cases run in ctest with a few trials"
  echo "(\`daemon_faults_*\`, \`daemon_security_test\`, \`jobs_security_test\`); \`bench/faults.sh\` runs"
  echo "them with many (FAULT_TRIALS), and the fuzzers run for FUZZ_SECONDS each."
  echo
  echo "Every fault case asserts, from what a municipality's consumer sees in the delivery folder:"
  echo "nothing lost (every due package arrives, holding the warehouse bytes), nothing delivered twice"
  echo "(one package and one delivered run per period), and never a partial package under its final"
  echo "name (every \`*.tar.zst\` decompresses whole; with its \`.sha256\`, \`sha256sum -c\` passes)."
  echo
  echo "## Faults"
  echo
  if [ -f "$RESULTS/faults.log" ]; then
    head -1 "$RESULTS/faults.log" | sed 's/^# /Run: /'
    echo
    echo "| case | result | seconds | figures |"
    echo "|---|---|---|---|"
    awk '
      /^CASE / { if (c != "") print "| " c " | " v " | " s " | " f " |"; c = $2; v = $3; s = $4; f = ""; next }
      /^FAULTS / { sub(/^FAULTS /, ""); gsub(/\|/, "/"); f = (f == "" ? $0 : f "; " $0); next }
      END { if (c != "") print "| " c " | " v " | " s " | " f " |" }' "$RESULTS/faults.log" | sed 's/`/'"'"'/g'
    echo
    tail -1 "$RESULTS/faults.log" | sed 's/^# /Result: /'
  else
    echo "(no run yet: bench/faults.sh)"
  fi
  echo
  echo "## Fuzzing (libFuzzer, ASan + UBSan)"
  echo
  echo "| target | seconds | executions | corpus | crashes, leaks, timeouts | run |"
  echo "|---|---|---|---|---|---|"
  for log in "$RESULTS"/fuzz_*.log; do
    [ -f "$log" ] || continue
    name=$(basename "$log" .log)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    corpus=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -1 | sed 's/corp: //')
    findings=$(grep -cE '^==[0-9]+==ERROR|runtime error:|ERROR: libFuzzer' "$log")
    verdict="none"; [ "$findings" != 0 ] && verdict="$findings: see $RESULTS/$name.log"
    when=$(grep -o 'date=[^ ]*' "$log" | tail -1 | cut -d= -f2)
    commit=$(grep -o 'commit=[0-9a-f]*' "$log" | tail -1 | cut -d= -f2)
    echo "| $name | ${secs:-?} | ${runs:-?} | ${corpus:-?} | $verdict | ${when:-?} ${commit:-} |"
  done
  echo
  echo "## Whole suite under ASan + UBSan (scripts/sanitize.sh)"
  echo
  [ -f "$RESULTS/sanitize.log" ] && echo "Run: $(date -u -r "$RESULTS/sanitize.log" +%Y-%m-%dT%H:%MZ), ctest of \`scripts/sanitize.sh\`:" && echo
  if [ -f "$RESULTS/sanitize.log" ] && ! grep -q 'tests passed\|tests failed' "$RESULTS/sanitize.log"; then
    echo "Not finished when this page was written (last line: \`$(tail -1 "$RESULTS/sanitize.log" | cut -c1-80)\`)."
  elif [ -f "$RESULTS/sanitize.log" ]; then
    grep -E 'tests passed|tests failed|\*\*\*Failed|\(Failed\)|Timeout' "$RESULTS/sanitize.log" | sed 's/^/    /'
  else
    echo "(no run yet: scripts/sanitize.sh 2>&1 | tee $RESULTS/sanitize.log)"
  fi
  cat <<'NOTES'

## Hostile input: what a read of the code as an attacker found

Each row: the hole, what closes it, and the test that fails without the fix (runs in ctest).

| hole | fix | test |
|---|---|---|
| bash completion ran `$(...)` from order file names (`compgen -W`), as whoever pressed TAB | completion offers only safe names and never expands them; the loader refuses an order file not named `<safe name>.yaml` (the name need not equal the id) | completion.test.sh (`$(touch${IFS}PWNED).yaml`), config_loader_test/an_order_file_with_an_unsafe_name_is_refused |
| a target `path:` without `{municipality}` (`/kommuner/datapakker`, `/kommuner/{order}`) put every municipality's packages in one folder | the loader refuses such a template, naming file, line and column | config_validate_test/a_target_path_without_municipality_is_an_error |
| the municipality folder could be swapped between listing and reading (collect checked `101/` for a link; the packer opened it again by path, following links): `101/` renamed away and a link to `147/` put in its place filled 101's package with 147's data | the warehouse root is opened once; folders and files are opened beneath it with `openat2(RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS)`; the device and inode of each municipality folder and file, recorded when listed, are checked at hashing and at packing | jobs_security_test/a_municipality_folder_swapped_for_a_symlink_after_listing_fails_the_package, .../a_municipality_folder_renamed_into_place_after_listing_fails_the_package (seam `after_listing`) |
| a hard link in `101/` to a file of `147/` (possible for whoever owns the file, even with `fs.protected_hardlinks`) | a warehouse file with more than one link is refused, at listing and at every open | jobs_security_test/hard_links_in_a_municipality_folder_are_refused |
| one slow control-socket client (a byte every 4 s) stalled the event loop, served one client at a time with blocking reads, until the watchdog killed flisd | non-blocking sockets in the server's own epoll (watched by the loop): 5 s in all per connection, 64 KiB per line, at most 16 connections (one more is told "busy") | daemon_control_test/a_slow_client_delays_neither_another_clients_reload_nor_the_watchdog, .../connections_beyond_the_cap_are_refused_with_a_reason |
| terminal escapes (`ESC[2J`, OSC, C1 CSI) in an SFTP server's status message or a warehouse file name went verbatim into the state database and `flisctl runs` | one helper, `printable()` (base/printable.h), writes C0, DEL, C1 and non-UTF-8 bytes out as `\xHH`/`\u00HH`; used when the state store records an error and when `flisctl runs` prints its table | daemon_security_test/terminal_escapes_in_an_error_are_neither_stored_nor_printed, base_printable_test |
| dates without a bound: `start: 1026-11-01` was valid and made ~365,000 daily periods per order on every refresh | a date before 2000-01-01 (orders, `datamarts.start`) is an error naming file, line and column; an order of more than 5,000 periods gets a warning; both documented | config_validate_test/dates_before_2000_are_refused, .../an_order_with_more_than_5000_periods_is_warned_about |
| hardening gaps: no network allow list (a compromised library could send every municipality's data anywhere), no memory cap, shared IPC namespace | `MemoryHigh=384M`/`MemoryMax=512M` (sized from the benchmarks: 365 MiB resident at 10,000 orders, 46 MiB for a 512 MiB package), `PrivateIPC=yes`, `PrivateMounts=yes`; a documented drop-in `contrib/systemd/flisd.service.d/network.conf` with `IPAddressDeny=any` and `IPAddressAllow=` for the SFTP hosts. `systemd-analyze security`: 1.2 before, 1.1 now, 0.9 with the drop-in | service-unit.test.sh (threshold 1.2, the drop-in verifies and lowers it), systemd-e2e.test.sh (the unit runs under systemd 252) |
| the private key lives inside the configuration's git work tree (`/etc/flisd/keys/`), kept out of the repository only by a hand-written `.gitignore` | the pre-commit hook refuses a staged file under `keys/` and any file in the index with a private key header (OpenSSH, PEM, PKCS#8, PuTTY); the guide recommends the systemd credential | hook.test.sh |
| the key check did not match the docs (only the mode was checked, by path, before libssh opened the path again: a file swapped in between was used unchecked) | the key file is opened once with `O_NOFOLLOW`; owner (flisd's user or root) and mode are checked with `fstat` on that descriptor, and libssh gets the bytes read from it (`ssh_pki_import_privkey_base64`), wiped after use | jobs_sftp_test/a_private_key_owned_by_another_user_is_refused, .../a_private_key_that_is_a_symbolic_link_is_refused |
| the directory target followed a symbolic link at the final name when checking a delivery after a crash (a link made a package look delivered), followed one at the `.sha256` name when reading it, and wrote the checksum through a hard link left at its temporary name | `lstat` and `O_NOFOLLOW` on the final and `.sha256` names (a link is an error naming it); the checksum's temporary file is always created new (`O_EXCL`) | jobs_directory_target_test/inspect_follows_no_symbolic_link_at_the_final_or_checksum_name, .../a_hard_link_at_the_checksum_temporary_name_is_not_written_through |

Decided, not changed: one group, `flisd`, opens the control socket and reads the spool
(`/var/spool/flisd`, 0750) of the directory targets. It is the group of the people who run flisd,
who may see the packages anyway. The program that picks packages up from the spool should not join
it (it could trigger and redeliver runs); the guide gives it read access with a default ACL on the
spool instead, which the folders and packages flisd makes inherit. A second group would need the
spool folders made setgid and a second sysusers entry, for no gain over the ACL.

## What these runs found, and what they do not cover

Found by these runs and fixed (each now a committed test case above):

- **kill -9 between a package's final rename and its `.sha256`**: the restart found the final file
  without its checksum and failed every attempt. Now the run records the package's size, path and
  SHA-256 before the rename (`set_packed`), and recovery writes the missing `.sha256` (930ab69).
- **State disk full during a run**: nothing was lost, but `flisd --once` did not say why it stopped
  and the start-up error said "disk I/O error". Both now name state.db and say the disk is full (d01dddc).
- **A `..` in a target path template** was resolved away when the configuration was loaded, so
  `out/{municipality}/../../x` sent every municipality's packages to one folder. The loader now
  refuses `..` in templates (ee7f03f).
- **The whole suite under ASan + UBSan**: no report in flisd's own code. It found undefined behaviour in
  a test (jobs_security_test built a failure message from `front()` of an empty vector), fixed; and
  LeakSanitizer cannot run inside the unit's sandbox, so systemd-e2e turns leak detection off there
  only (every other test runs flisd with leak detection on).
- **CI only**: a journald that had died left `/run/systemd/journal/socket` behind, so the journal
  tests saw ECONNREFUSED; scripts/services.sh now probes journald by writing to it (367cdf8).

Not covered: warehouse files are changed between the packer's hashing read and its packing read
(flisd paused with SIGSTOP at a known point), not within one read; jobs_packer_test covers changes
within a read through its test seam. The SFTP outage and stall cases run against OpenSSH through a
TCP proxy on 127.0.0.1 (tests/support/faults.h); other servers' behaviour under a cut is not tried.
The fuzzers' figures above come from the run recorded in their logs, which may be older than the
fault runs (bench/reliability.sh reruns them unless SKIP_FUZZ is set).
NOTES
} >docs/reliability.md
echo "docs/reliability.md written"
