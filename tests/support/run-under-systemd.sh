#!/bin/bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# flisd's own copy of run-under-systemd.sh (used by tests/systemd-e2e.test.sh), after the team's
# shared tool; kept here so the project carries what its tests need.
#
# run-under-systemd.sh — run/test a service unit under a REAL systemd (PID 1 of a
# systemd-nspawn container) on a host whose own PID 1 is NOT systemd
# (e.g. a CI VM/container: no host systemd, no host D-Bus, no machined).
#
# Tested on: Debian 12 (bookworm), systemd 252.39, kernel 6.18, 2 CPUs, running as
# root, host cgroups in "hybrid" mode (v1 controllers + name=systemd + cgroup2 at
# /sys/fs/cgroup/unified), host /run NOT a tmpfs, host PID 1 = a custom init.
# Needs: apt-get install -y --no-install-recommends systemd-container   (+ debootstrap for ROOTFS mode "image")
#
# Two ways to get a root tree for the container (ROOTFS=...):
#   ROOTFS=<dir> (default $SYSD_DIR/rootfs)  "image" mode: `setup` debootstraps a
#       minimal bookworm (minbase + systemd + systemd-sysv + dbus + procps) once:
#       ~45 s (network: Debian mirror), 157 MB. Booted with --volatile=overlay, so
#       the tree stays pristine and every boot is a fresh machine (cacheable in CI).
#   ROOTFS=host  "host" mode: no download at all. `setup` mounts a tmpfs-backed
#       overlayfs with lowerdir=/ (the host root fs, read-only lower layer) at
#       $SYSD_DIR/hostroot-$NAME/merged and boots THAT. The container therefore
#       has everything installed on the host (your binaries, python, ...), but
#       all writes go to tmpfs. Needs systemd installed on the host (it is, 252).
#       Submounts of / (other filesystems) are NOT visible inside.
#       Host-enabled services (ssh, postgresql, ...) would start too, so this mode
#       boots PID 1 with systemd.unit=basic.target by default (INIT_ARGS) and uses
#       --private-network by default (NSPAWN_ARGS) so nothing can bind host ports.
#
# Commands
#   setup      prepare the tree (see above); idempotent
#   boot       start `systemd-nspawn -b` in the background with
#                --register=no --keep-unit  (REQUIRED here: without them nspawn wants
#                the host's system bus/machined and dies: "Failed to open system
#                bus: No such file or directory")
#              after moving itself into a private cgroup under-systemd-$NAME (so nspawn's
#              …/payload and …/supervisor cgroups don't land in the host's root
#              cgroup and can be removed at teardown). Waits until
#              `systemctl is-system-running --wait` = running|degraded (0.3-0.5 s
#              image mode, ~1-3 s host mode).
#   exec CMD…  run CMD inside via `nsenter -t <container PID 1> -a` with a clean env.
#              (`systemd-run -M`, `machinectl shell` do NOT work: the container is
#              not registered with a machined — there is none on the host.)
#              stdin/stdout/stderr and the exit code pass through.
#   run CMD…   like exec, but started by the container's systemd as a transient
#              unit (systemd-run --wait --pipe): own cgroup/unit, proper journal
#              attribution (_SYSTEMD_UNIT=run-uN.service), exit code passed through.
#   put HOSTFILE CONTAINER_PATH [MODE]   copy a host file into the running container
#   teardown   `systemctl poweroff` inside, wait ≤10 s, then SIGTERM (nspawn turns it
#              into a clean halt), then SIGKILL — always by the PID we recorded;
#              remove our cgroups, state dir, and (host mode) the overlay mounts.
#   selftest   demo: Type=notify + STATUS= via systemd-notify, reload, status,
#              journal with custom fields; exits non-zero on failure
#   all        setup + boot + selftest + teardown (teardown via EXIT trap)
#
# Environment knobs
#   SYSD_DIR     ($TMPDIR/run-under-systemd)  work dir (state, logs, trees)
#   ROOTFS       ($SYSD_DIR/rootfs | host)   see above
#   NAME         (sdtest)                    machine name = hostname, state/cgroup names
#   MIRROR       (the Debian URI in the apt sources)   SUITE (bookworm)
#   EXTRA_PKGS   ()                          comma-separated extra packages for debootstrap
#   NSPAWN_ARGS  (""; host mode: --private-network)  extra nspawn options,
#                e.g. "--bind-ro=/src:/src --setenv=FOO=1"
#   INIT_ARGS    (""; host mode: systemd.unit=basic.target)  args for the container's
#                PID 1, e.g. "systemd.unit=multi-user.target systemd.mask=foo.service"
#   VOLATILE     (overlay; host mode: no)    nspawn --volatile= (overlay|no|state|yes)
#   BOOT_TIMEOUT (60)                        seconds
#
# Typical CI usage
#   trap './run-under-systemd.sh teardown' EXIT
#   ./run-under-systemd.sh setup && ./run-under-systemd.sh boot
#   ./run-under-systemd.sh put my.service /etc/systemd/system/my.service
#   ./run-under-systemd.sh exec systemctl daemon-reload
#   ./run-under-systemd.sh exec systemctl start my.service
#   ./run-under-systemd.sh exec systemctl show my.service -p StatusText --value
#   ./run-under-systemd.sh exec journalctl -u my.service -o json MY_FIELD=x
#
# Journal caveat (systemd 252, same on any version): entries sent by SHORT-LIVED
# helper processes (logger --journald, systemd-cat, systemd-notify) often lack
# _SYSTEMD_UNIT/_SYSTEMD_CGROUP/_EXE/_CMDLINE because journald reads them from
# /proc/<pid> after the sender has exited (measured here: ~30-40 % of entries lose
# them). `journalctl -u X` then misses them. Race-free alternatives:
#   * write to stdout/stderr of the service (stream is tagged with the unit),
#     add static fields with LogExtraFields=KEY=VALUE in the unit;
#   * log from the long-lived main process (sd_journal_send / python systemd.journal);
#   * add OBJECT_SYSTEMD_UNIT=X to logger --journald entries (journalctl -u X
#     includes OBJECT_SYSTEMD_UNIT=X entries whose _UID=0);
#   * or match on SYSLOG_IDENTIFIER (-t) / your own field instead of -u.
#
# Static checks that need NO boot (work on this host with systemd 252, ~40 ms each):
#   systemd-analyze verify ./demo.service
#       rc=1 for missing ExecStart binary (checked on the HOST fs, or inside
#       --root=DIR if the unit is installed under DIR), missing Requires= units;
#       rc=0 but warnings on stderr for unknown keys/bad values -> treat any stderr
#       output as failure:  [ -z "$(systemd-analyze verify X 2>&1)" ]
#   systemd-analyze security --offline=true [--threshold=N] [--json=short] ./demo.service
#       prints the exposure table; rc=1 when exposure > --threshold.
set -euo pipefail

SYSD_DIR=${SYSD_DIR:-${TMPDIR:-/tmp}/run-under-systemd}
NAME=${NAME:-sdtest}
ROOTFS=${ROOTFS:-$SYSD_DIR/rootfs}
HOSTOV=$SYSD_DIR/hostroot-$NAME
if [ "$ROOTFS" = host ]; then
    HOSTMODE=1; ROOTFS=$HOSTOV/merged
    VOLATILE=${VOLATILE:-no}                 # nspawn refuses --volatile=overlay on "/"
    NSPAWN_ARGS=${NSPAWN_ARGS---private-network}
    INIT_ARGS=${INIT_ARGS-systemd.unit=basic.target}
else
    HOSTMODE=0
    VOLATILE=${VOLATILE:-overlay}
    NSPAWN_ARGS=${NSPAWN_ARGS:-}
    INIT_ARGS=${INIT_ARGS:-}
fi
MIRROR=${MIRROR:-$( { grep -hE '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | awk '{print $2}'; grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}'; } | grep -v security | head -1 || true)}
SUITE=${SUITE:-bookworm}
EXTRA_PKGS=${EXTRA_PKGS:-}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-60}
STATE=$SYSD_DIR/state-$NAME
CG_NAME=under-systemd-$NAME

log() { printf '[run-under-systemd] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- setup
cmd_setup() {
    command -v systemd-nspawn >/dev/null || {
        log "installing systemd-container"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd-container >/dev/null
    }
    if [ "$HOSTMODE" = 1 ]; then setup_hostroot; else setup_image; fi
}

setup_image() {
    if [ -x "$ROOTFS/lib/systemd/systemd" ]; then
        log "rootfs $ROOTFS already exists, skipping debootstrap"; return 0
    fi
    command -v debootstrap >/dev/null || {
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
    }
    mkdir -p "$SYSD_DIR"
    local pkgs="systemd,systemd-sysv,dbus,procps${EXTRA_PKGS:+,$EXTRA_PKGS}"
    log "debootstrap $SUITE ($pkgs) -> $ROOTFS"
    local t0=$SECONDS
    debootstrap --variant=minbase --include="$pkgs" "$SUITE" "$ROOTFS" "$MIRROR" \
        >"$SYSD_DIR/debootstrap-$NAME.log" 2>&1 \
        || { tail -20 "$SYSD_DIR/debootstrap-$NAME.log" >&2; die "debootstrap failed"; }
    # shrink (apt cache ~40 MB) + make every boot a "first boot"
    rm -f "$ROOTFS"/var/cache/apt/archives/*.deb
    rm -rf "$ROOTFS"/var/lib/apt/lists/*
    : >"$ROOTFS/etc/machine-id"          # empty => systemd generates one at boot
    rm -f "$ROOTFS/etc/hostname"          # => hostname = nspawn machine name ($NAME)
    # no login prompt on the console, no periodic jobs
    for u in console-getty.service apt-daily.timer apt-daily-upgrade.timer \
             dpkg-db-backup.timer e2scrub_all.timer; do
        ln -sf /dev/null "$ROOTFS/etc/systemd/system/$u"
    done
    log "setup done in $((SECONDS - t0)) s, size: $(du -sh "$ROOTFS" | cut -f1)"
}

setup_hostroot() {
    [ -x /lib/systemd/systemd ] || die "host mode needs systemd installed on the host"
    if mountpoint -q "$ROOTFS"; then log "$ROOTFS already mounted"; return 0; fi
    mkdir -p "$HOSTOV/up" "$HOSTOV/merged"
    mountpoint -q "$HOSTOV/up" || mount -t tmpfs -o size=2g,mode=0755 tmpfs "$HOSTOV/up"
    mkdir -p "$HOSTOV/up/upper" "$HOSTOV/up/work"
    mount -t overlay overlay \
        -o "lowerdir=/,upperdir=$HOSTOV/up/upper,workdir=$HOSTOV/up/work" "$ROOTFS"
    # small fixes in the (tmpfs) upper layer only
    echo "$NAME" >"$ROOTFS/etc/hostname"
    ln -sf /dev/null "$ROOTFS/etc/systemd/system/console-getty.service"
    log "host root overlay mounted at $ROOTFS"
}

teardown_hostroot() {
    [ "$HOSTMODE" = 1 ] || return 0
    if mountpoint -q "$ROOTFS"; then umount "$ROOTFS" || umount -l "$ROOTFS"; fi
    if mountpoint -q "$HOSTOV/up"; then umount "$HOSTOV/up" || umount -l "$HOSTOV/up"; fi
    rmdir "$HOSTOV/merged" "$HOSTOV/up" "$HOSTOV" 2>/dev/null || true
}

# ---------------------------------------------------------------- helpers
cg_roots() {  # cgroup hierarchies in which we create our own group
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        echo /sys/fs/cgroup                      # pure v2 host (untested here)
    else
        [ -d /sys/fs/cgroup/systemd ] && echo /sys/fs/cgroup/systemd
        [ -d /sys/fs/cgroup/unified ] && echo /sys/fs/cgroup/unified
    fi
    return 0
}

leader_pid() {  # PID (host view) of the container's systemd (PID 1 inside)
    local np c cns; np=$(cat "$STATE/nspawn.pid" 2>/dev/null) || return 1
    # nspawn has briefly TWO children while starting (the "outer" helper that is
    # still in the host PID namespace, and the container init). Pick the child that
    # lives in a different PID namespace than nspawn itself.
    for c in $(ps -o pid= --ppid "$np" 2>/dev/null); do
        cns=$(readlink "/proc/$c/ns/pid" 2>/dev/null) || continue
        if [ -n "$cns" ] && [ "$cns" != "$(readlink "/proc/$np/ns/pid" 2>/dev/null)" ]; then
            echo "$c"; return 0
        fi
    done
    return 1
}

IN_ENV=(/usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        HOME=/root LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0)

cmd_exec() {
    local l; l=$(leader_pid) || true
    [ -n "$l" ] || die "container $NAME is not running (no state in $STATE?)"
    nsenter -t "$l" -a -- "${IN_ENV[@]}" "$@"
}

cmd_run() {  # run as transient unit of the container's systemd, stdio piped
    cmd_exec systemd-run --quiet --wait --pipe --collect --service-type=exec "$@"
}

cmd_put() {  # put HOSTFILE CONTAINER_PATH [MODE]
    local src=$1 dst=$2 mode=${3:-0644}
    cmd_exec /bin/sh -c 'mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"' sh "$dst" "$mode" <"$src"
}

# ---------------------------------------------------------------- boot
cmd_boot() {
    [ -x "$ROOTFS/lib/systemd/systemd" ] || die "no tree at $ROOTFS — run '$0 setup' first"
    if [ -f "$STATE/nspawn.pid" ] && kill -0 "$(cat "$STATE/nspawn.pid")" 2>/dev/null; then
        die "container $NAME already running (nspawn PID $(cat "$STATE/nspawn.pid"))"
    fi
    mkdir -p "$STATE"
    local cg
    for cg in $(cg_roots); do mkdir -p "$cg/$CG_NAME"; done
    local t0; t0=$(date +%s.%N)
    # Subshell: move ourselves into our own cgroup(s), then exec nspawn.
    # Non-option INIT_ARGS after the options are passed to the container's PID 1.
    # shellcheck disable=SC2086
    (
        for cg in $(cg_roots); do echo "$BASHPID" >"$cg/$CG_NAME/cgroup.procs"; done
        exec systemd-nspawn --quiet \
            --directory="$ROOTFS" --boot \
            --machine="$NAME" \
            --register=no --keep-unit \
            --volatile="$VOLATILE" \
            --console=read-only \
            $NSPAWN_ARGS \
            $INIT_ARGS
    ) </dev/null >"$STATE/console.log" 2>&1 &
    echo $! >"$STATE/nspawn.pid"
    log "nspawn PID $(cat "$STATE/nspawn.pid"), console log: $STATE/console.log"
    # wait for PID 1 to appear, then for the boot to finish
    local deadline=$((SECONDS + BOOT_TIMEOUT)) st=""
    while :; do
        kill -0 "$(cat "$STATE/nspawn.pid")" 2>/dev/null || { cat "$STATE/console.log" >&2; die "nspawn exited during boot"; }
        if [ -n "$(leader_pid)" ]; then
            st=$(cmd_exec systemctl is-system-running --wait 2>/dev/null || true)
            case $st in running|degraded) break ;; esac
        fi
        [ $SECONDS -lt $deadline ] || { tail -30 "$STATE/console.log" >&2; die "boot timeout (state '$st')"; }
        sleep 0.2
    done
    log "booted: state=$st, leader PID $(leader_pid), $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
    [ "$st" = running ] || cmd_exec systemctl --failed --no-legend >&2 || true
}

# ---------------------------------------------------------------- teardown
cmd_teardown() {
    local np; np=$(cat "$STATE/nspawn.pid" 2>/dev/null || true)
    if [ -n "$np" ] && kill -0 "$np" 2>/dev/null; then
        local l; l=$(leader_pid || true)     # (no cmd_exec here: it would die())
        [ -z "$l" ] || nsenter -t "$l" -a -- "${IN_ENV[@]}" systemctl poweroff --no-block >/dev/null 2>&1 || true
        local _
        for _ in $(seq 1 100); do kill -0 "$np" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$np" 2>/dev/null; then
            log "nspawn $np still alive after 10s, sending SIGTERM"
            kill -TERM "$np" 2>/dev/null || true   # nspawn turns it into a clean halt
            for _ in $(seq 1 50); do kill -0 "$np" 2>/dev/null || break; sleep 0.1; done
        fi
        if kill -0 "$np" 2>/dev/null; then
            log "still alive, SIGKILL $np"; kill -KILL "$np" 2>/dev/null || true; sleep 0.5
        fi
        wait "$np" 2>/dev/null || true
    fi
    # remove the cgroups nspawn left behind (payload/…, supervisor) + ours
    local cg
    for cg in $(cg_roots); do
        [ -d "$cg/$CG_NAME" ] || continue
        # any process still inside? (should not happen) -> kill it by PID
        find "$cg/$CG_NAME" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r p; do
            log "killing leftover PID $p"; kill -KILL "$p" 2>/dev/null || true
        done
        sleep 0.1
        find "$cg/$CG_NAME" -depth -type d -exec rmdir {} \; 2>/dev/null || true
        if [ -d "$cg/$CG_NAME" ]; then log "WARNING: could not remove $cg/$CG_NAME"; fi
    done
    # nspawn cannot rm this itself when /run is not tmpfs ("…we can't allow that")
    rm -rf "/run/systemd/nspawn/propagate/$NAME"
    teardown_hostroot
    if grep -q " ${ROOTFS}[ /]" /proc/self/mounts; then
        log "WARNING: mounts left under $ROOTFS:"; grep " ${ROOTFS}[ /]" /proc/self/mounts >&2
    fi
    rm -rf "$STATE"
    log "teardown done"
}

# ---------------------------------------------------------------- self test
check() {  # check DESCRIPTION EXPECTED_SUBSTRING CMD... (retries ~3 s for journal latency)
    local what=$1 want=$2 out; shift 2
    for _ in $(seq 1 15); do
        out=$("$@" 2>&1 || true)
        case $out in *"$want"*) log "PASS: $what"; return 0 ;; esac
        sleep 0.2
    done
    log "FAIL: $what — wanted '$want', got:"; printf '%s\n' "$out" >&2; return 1
}
T() { printf '\n$ %s\n' "${*#cmd_}" >&2; "$@"; }
cmd_selftest() {
    local tmp; tmp=$(mktemp -d)
    cat >"$tmp/demo.sh" <<'EOF'
#!/bin/sh
# Tiny Type=notify daemon. systemd 252 has no `systemd-notify --reloading`,
# so on SIGHUP we only update STATUS= and log a structured journal entry.
# systemd-notify run as root sends with the *shell's* PID (the MAINPID) and waits
# for PID 1 to process it, so READY=1/STATUS= are race-free here; under User=
# (unprivileged) it falls back to its own short-lived PID => racy (see man page).
# NOTE: logger/systemd-cat are short-lived helper processes. journald reads the
# sender's cgroup from /proc/<pid> *after* receiving the datagram; logger has
# usually exited by then, so the entry gets NO _SYSTEMD_UNIT/_SYSTEMD_CGROUP/_EXE
# and `journalctl -u demo.service` would not show it. OBJECT_SYSTEMD_UNIT= (honoured
# by `journalctl -u` for _UID=0 senders) makes the attribution deterministic.
emit() {  # structured journal entry
  logger --journald <<EOT
MESSAGE=$1
OBJECT_SYSTEMD_UNIT=demo.service
PRIORITY=6
SYSLOG_IDENTIFIER=demo
DEMO_EVENT=$2
DEMO_ORDERS=3
DEMO_NEXT_RUN=2026-12-05
EOT
}
trap 'echo "reloading config"; emit "config reloaded" reload;
      systemd-notify --status="reloaded; 3 orders, next run 2026-12-05"' HUP
echo "demo starting"
systemd-notify --ready --status="3 orders, next run 2026-12-05"
emit "demo ready" ready
echo "order processed" | systemd-cat -t demo-cat -p notice
while :; do sleep 2 & wait $!; done
EOF
    cat >"$tmp/demo.service" <<'EOF'
[Unit]
Description=Demo notify service

[Service]
Type=notify
NotifyAccess=all
ExecStart=/usr/local/bin/demo.sh
ExecReload=/bin/kill -HUP $MAINPID
# static custom fields added to every stdout/stderr line of the unit (race-free)
LogExtraFields=DEMO_COMPONENT=orders

[Install]
WantedBy=multi-user.target
EOF
    T cmd_put "$tmp/demo.sh" /usr/local/bin/demo.sh 0755
    T cmd_put "$tmp/demo.service" /etc/systemd/system/demo.service
    T cmd_exec systemctl daemon-reload
    T cmd_exec systemctl start demo.service
    T cmd_exec systemctl status demo.service --no-pager || true
    T cmd_exec systemctl show demo.service -p StatusText -p ActiveState -p Type
    check "StatusText after start" "3 orders, next run 2026-12-05" \
        cmd_exec systemctl show demo.service -p StatusText --value
    T cmd_exec systemctl reload demo.service
    sleep 0.5
    T cmd_exec systemctl show demo.service -p StatusText
    T cmd_exec journalctl -u demo.service --no-pager -o short
    T cmd_exec journalctl -u demo.service DEMO_EVENT=reload --no-pager -o verbose
    T cmd_exec journalctl -u demo.service -o json --no-pager --output-fields=MESSAGE,DEMO_EVENT,DEMO_ORDERS,SYSLOG_IDENTIFIER DEMO_ORDERS=3
    T cmd_exec journalctl -t demo-cat --no-pager -o verbose
    T cmd_exec journalctl -u demo.service DEMO_COMPONENT=orders --no-pager -o cat
    T cmd_run sh -c 'echo "hello from a transient unit"; cat /proc/self/cgroup | head -1'
    # ---- assertions (exit non-zero on failure)
    check "StatusText after reload" "reloaded; 3 orders, next run 2026-12-05" \
        cmd_exec systemctl show demo.service -p StatusText --value
    check "reload recorded in journal (structured field DEMO_EVENT)" "config reloaded" \
        cmd_exec journalctl -u demo.service DEMO_EVENT=reload -o cat --no-pager
    check "LogExtraFields on stdout lines" "demo starting" \
        cmd_exec journalctl -u demo.service DEMO_COMPONENT=orders -o cat --no-pager
    # systemd-cat cannot add custom fields and its lines hit the same race as logger
    # (no _SYSTEMD_UNIT if it exited before journald looked at it), so match by
    # identifier (-t), not by -u:
    check "systemd-cat line in journal (by SYSLOG_IDENTIFIER)" "order processed" \
        cmd_exec journalctl -t demo-cat -o cat --no-pager
    T cmd_exec systemctl stop demo.service
    cmd_exec systemctl show demo.service -p StatusText -p ActiveState
    rm -rf "$tmp"
}

on_exit() {  # EXIT trap for "all": show why, then always tear down
    local rc=$?
    if [ "$rc" != 0 ]; then
        log "FAILED (rc=$rc), console tail:"; tail -15 "$STATE/console.log" >&2 2>/dev/null || true
    fi
    cmd_teardown; exit "$rc"
}

case ${1:-} in
    setup)    cmd_setup ;;
    boot)     cmd_boot ;;
    exec)     shift; cmd_exec "$@" ;;
    run)      shift; cmd_run "$@" ;;
    put)      shift; cmd_put "$@" ;;
    teardown) cmd_teardown ;;
    selftest) cmd_selftest ;;
    all)      cmd_setup; trap on_exit EXIT; cmd_boot; cmd_selftest ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2 ;;
esac
