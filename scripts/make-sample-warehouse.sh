#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Makes a small, realistic FLIS warehouse for a configuration (the demo and the --once tests):
#
#   scripts/make-sample-warehouse.sh DIR CONFIG_DIR [--now DATE] [--from DATE] [--unprocessed N]
#
# For every interface of CONFIG_DIR/interfaces.yaml it writes each partition of the interface's
# frequency (daily 2026-11-25, weekly 2026-W48, monthly 2026-11) that has ended by the day before
# --now (default: today): a few KiB of semicolon-separated CSV for municipalities 101, 147, 751, 851
# and 860, and the partition's _PROCESSED marker. Daily and weekly partitions start
# at --from (default 2026-01-01), monthly ones in 2023 so the example one-off orders have data.
# The last --unprocessed (default 2) daily partitions get their files but no marker, and so does
# the last month of YDELSE_UDBETALING, so the runs table shows packages waiting for FLIS.
set -euo pipefail

usage() {
  echo "usage: $0 DIR CONFIG_DIR [--now YYYY-MM-DD] [--from YYYY-MM-DD] [--unprocessed N]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
out=$1 config=$2
shift 2
now=$(date +%F) from=2026-01-01 monthly_from=2023-01-01 unprocessed=2
while [ $# -gt 0 ]; do
  case $1 in
    --now) now=${2:?}; shift 2 ;;
    --from) from=${2:?}; shift 2 ;;
    --unprocessed) unprocessed=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
[ -f "$config/interfaces.yaml" ] || { echo "$0: no interfaces.yaml in $config" >&2; exit 1; }
now=$(date -d "${now:0:10}" +%F) || { echo "$0: --now must be a date (YYYY-MM-DD)" >&2; exit 2; }
yesterday=$(date -d "$now - 1 day" +%F)
municipalities=(101 147 751 851 860)

# interfaces.yaml: "sources:" then two-space source keys and four-space interface entries.
mapfile -t interfaces < <(awk '
  /^  [A-Za-z]+:[[:space:]]*(#.*)?$/ { src = $1; sub(":", "", src); next }
  /^    [A-Za-z0-9_]+:/ && /frequency:/ {
    name = $1; sub(":", "", name)
    freq = $0; sub(/.*frequency:[[:space:]]*/, "", freq); sub(/[^a-z].*/, "", freq)
    print src, name, freq
  }' "$config/interfaces.yaml")
[ ${#interfaces[@]} -gt 0 ] || { echo "$0: no interfaces found in $config/interfaces.yaml" >&2; exit 1; }

# Every day from $1 to $yesterday as "YYYY-MM-DD weekday(1-7) ISO-week", with one `date` call.
days_from() {
  local n=$((($(date -d "$yesterday" +%s) - $(date -d "$1" +%s)) / 86400))
  [ "$n" -ge 0 ] || return 0
  seq 0 "$n" | sed "s/.*/$1 + & days/" | TZ=UTC date -f - '+%F %u %G-W%V'
}
mapfile -t days < <(days_from "$from")
mapfile -t months_days < <(days_from "$monthly_from")

# Partitions per frequency that have ended by yesterday.
daily=() weekly=() monthly=()
for d in "${days[@]}"; do
  read -r day weekday week <<<"$d"
  daily+=("$day")
  # A week is named by its Thursday and complete once its Sunday is past.
  if [ "$weekday" = 7 ]; then weekly+=("$week"); fi
done
for d in "${months_days[@]}"; do
  read -r day _ _ <<<"$d"
  # A month is complete once its last day is past: the day after it is the 1st.
  [ "${day:8:2}" = 01 ] && monthly+=("${day:0:7}")
done
# The month in progress is not complete: drop it unless yesterday was its last day.
if [ ${#monthly[@]} -gt 0 ] && [ "${monthly[-1]}" = "${yesterday:0:7}" ] &&
   [ "$(date -d "$yesterday + 1 day" +%d)" != 01 ]; then
  unset 'monthly[-1]'
fi

# A few KiB of plausible rows for one interface and municipality into $body_text (no subshell:
# thousands of forks would make this slow); @P@ becomes the partition.
body_for() {
  local iface=$1 code=$2 header rows="" row i
  case $iface in
    CPR*) header="cpr_hash;foedselsaar;koen;postnr;kommunekode;dato" ;;
    LOEN*) header="medarbejder_id;stilling;timer;loen_kr;kommunekode;periode" ;;
    DM_*) header="noegle;maal;vaerdi;enhed;kommunekode;periode" ;;
    *) header="sag_id;sagstype;status;beloeb_kr;kommunekode;dato" ;;
  esac
  for ((i = 0; i < 40; i++)); do
    printf -v row '%08x%08x;%d;%d;%d;%s;@P@\n' $((RANDOM * RANDOM)) $((RANDOM * RANDOM)) $((1930 + RANDOM % 90)) \
      $((RANDOM % 2 + 1)) $((1000 + RANDOM % 8990)) "$code"
    rows+=$row
  done
  body_text="$header"$'\n'"$rows"
}

dirs=() markers=() files=() contents=()
for entry in "${interfaces[@]}"; do
  read -r source iface freq <<<"$entry"
  case $freq in
    daily) parts=("${daily[@]}") ;;
    weekly) parts=("${weekly[@]}") ;;
    monthly) parts=("${monthly[@]}") ;;
    *) echo "$0: $iface: unknown frequency '$freq'" >&2; exit 1 ;;
  esac
  [ ${#parts[@]} -gt 0 ] || continue
  declare -A body=()
  for code in "${municipalities[@]}"; do
    body_for "$iface" "$code"
    body[$code]=$body_text
  done
  last=$((${#parts[@]} - 1))
  for i in "${!parts[@]}"; do
    part=${parts[$i]}
    base="$out/$source/$iface/$part"
    for code in "${municipalities[@]}"; do
      dirs+=("$base/$code")
      files+=("$base/$code/${iface,,}_$part.csv")
      contents+=("${body[$code]//@P@/$part}")
    done
    # Landed but not yet processed: the newest daily partitions, and the last YDELSE month.
    if [ "$freq" = daily ] && [ "$i" -gt $((last - unprocessed)) ]; then continue; fi
    if [ "$iface" = YDELSE_UDBETALING ] && [ "$i" = "$last" ]; then continue; fi
    markers+=("$base/_PROCESSED")
  done
  unset body
done

mkdir -p "${dirs[@]}"
for i in "${!files[@]}"; do printf '%s' "${contents[$i]}" >"${files[$i]}"; done
[ ${#markers[@]} -eq 0 ] || touch "${markers[@]}"
echo "sample warehouse: ${#files[@]} files in ${#markers[@]} processed partitions under $out (data up to $yesterday)" >&2
