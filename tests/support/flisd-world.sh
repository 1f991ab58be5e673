# A small world for shell tests of flisd (sourced): a configuration folder written from the
# shipped examples' catalogue and calendar, one daily order on CPR_PERSON for municipality 101, a
# warehouse with the last days processed, and a directory target. Everything under $WORLD.
#
#   source "$FLISD_SOURCE_DIR/tests/support/flisd-world.sh"
#   world_make /tmp/x K101-CPR-DAILY        # config in /tmp/x/etc, packages land in /tmp/x/out/101
#   world_day 3                              # the date 3 days ago (Europe/Copenhagen), 2026-11-23
#   world_process 3                          # lands data for 101 on that day and marks it processed
#   world_wait "test -f ..." 30              # polls a condition, 0.1 s apart, up to N seconds
#   world_scratch                            # $work, a temporary folder, and $pid, a flisd there:
#                                            # on exit the flisd is killed and the folder removed

world_scratch() {
  work=$(mktemp -d)
  pid=
  trap 'if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
}

world_day() { TZ=Europe/Copenhagen date -d "-$1 days" +%F; }

world_make() {
  WORLD=$1 ORDER=$2 LEVEL=${3:-3}
  mkdir -p "$WORLD/etc/calendar" "$WORLD/etc/orders" "$WORLD/state" "$WORLD/warehouse/DSA/CPR_PERSON" "$WORLD/out"
  cp "$FLISD_SOURCE_DIR/config/examples/interfaces.yaml" "$WORLD/etc/"
  cp "$FLISD_SOURCE_DIR"/config/examples/calendar/*.yaml "$WORLD/etc/calendar/"
  cat >"$WORLD/etc/flisd.yaml" <<YAML
warehouse: $WORLD/warehouse
state: $WORLD/state/state.db
workers: 2
backfill_workers: 1
compression: {level: $LEVEL, threads: 1}
targets:
  flis:
    type: directory
    path: $WORLD/out/{municipality}
YAML
  world_order "$ORDER" "$(world_day 3)"
}

world_order() {  # ID START
  cat >"$WORLD/etc/orders/$1.yaml" <<YAML
id: $1
municipality: 101
type: daily
source: DSA
delivery: flis
interfaces: [CPR_PERSON]
start: $2
end: $(TZ=Europe/Copenhagen date -d '+1 year' +%F)
YAML
}

world_process() {  # DAYS_AGO [BIG_MIB]: land 101's data (with a random file of BIG_MIB) and mark it
  local d; d=$WORLD/warehouse/DSA/CPR_PERSON/$(world_day "$1")
  mkdir -p "$d/101"
  printf 'id;navn\n1;Test\n' >"$d/101/person.csv"
  if [ -n "${2:-}" ]; then head -c "$(($2 * 1024 * 1024))" /dev/urandom >"$d/101/big.bin"; fi
  : >"$d/_PROCESSED"
}

world_wait() {  # CONDITION SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if eval "$1"; then return 0; fi
    sleep 0.1
  done
  eval "$1"
}
