#!/usr/bin/env bash
# Peak RSS of `wp-sentinel wpconfig FILE` (the reader and the drift comparison,
# nothing else) on hostile 1 MiB wp-config.php files, against the official
# image's file read by the same binary in the same run (RELIABILITY.md, "Memory on hostile files").
#
#   scripts/hostile-memory.sh BINARY [BINARY ...]
#
# Then the same files inside `wp-sentinel serve` (the running sidecar, as
# tests/it/hostile_memory.rs drives it): the official file, then ROUNDS times
# (default 3) each hostile file followed by the official file, each read through
# inotify, with no tunables and
# with the image's GLIBC_TUNABLES (from the Dockerfile). Prints idle RSS, peak
# RSS (VmHWM) and what stays (VmRSS, RssAnon) once the official file is back.
#
# Exits non-zero when a hostile file takes more than LIMIT_MB (default 48) of peak
# RSS with the last binary given: the manifests give the sidecar 64 Mi.
set -euo pipefail
limit_mb="${LIMIT_MB:-48}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cp "$repo/tests/fixtures/wpconfig/docker.php" "$dir/official.php"
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
size = 1024 * 1024 - 64
open(f"{d}/parens.php", "w").write("<?php define('X', " + "(" * size + ");")
open(f"{d}/balanced.php", "w").write("<?php define('X', " + "(" * (size // 2) + ")" * (size // 2) + ");")
defines = "".join("define('K%d',1);\n" % i for i in range(60000))
open(f"{d}/defines.php", "w").write("<?php\n" + defines[: size])
open(f"{d}/brackets.php", "w").write("<?php $a = " + "[" * size + ";")
PY
printf '| binary | file | peak RSS (MB) | × the official file |\n|---|---|---|---|\n'
status=0
for binary in "$@"; do
  base=""
  for file in official parens balanced brackets defines; do
    kib=$( { /usr/bin/time -f '%M' "$binary" wpconfig "$dir/$file.php" 2>&1 >/dev/null || true; } | tail -n 1)
    [ -z "$base" ] && base=$kib
    printf '| %s | %s | %.1f | %.1f |\n' "$(basename "$binary")" "$file" "$(echo "$kib/1024" | bc -l)" "$(echo "$kib/$base" | bc -l)"
    if [ "$binary" = "${!#}" ] && [ "$kib" -gt $((limit_mb * 1024)) ]; then status=1; fi
  done
done

tunables=$(sed -n 's/^ENV GLIBC_TUNABLES=//p' "$repo/Dockerfile")
port=$((20000 + RANDOM % 20000))
kib() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
mb() { printf '%.1f' "$(echo "$1/1024" | bc -l)"; }
# Waits (at most 60 s) for the wpconfig line of /livez?verbose to start with $1.
verdict() {
  local i
  for ((i = 0; i < 600; i++)); do
    curl -s "http://127.0.0.1:$port/livez?verbose" | grep -q "^\[$1\]wpconfig" && return 0
    sleep 0.1
  done
  echo "hostile-memory: no [$1]wpconfig verdict" >&2
  return 1
}
swap() { cp "$dir/$1.php" "$dir/staging.php" && mv "$dir/staging.php" "$dir/serve/wp-config.php"; }
mkdir -p "$dir/serve"
printf '\n| binary | GLIBC_TUNABLES | idle RSS (MB) | peak RSS (MB) | RSS after (MB) | anonymous after (MB) |\n|---|---|---|---|---|---|\n'
for binary in "$@"; do
  for tuned in none image; do
    cp "$dir/official.php" "$dir/serve/wp-config.php"
    port=$((port + 1))
    malloc=()
    [ "$tuned" = image ] && malloc=("GLIBC_TUNABLES=$tunables")
    env -i PATH=/usr/bin:/bin "${malloc[@]}" \
      WORDPRESS_DB_HOST=db.example:3306 WORDPRESS_DB_USER=wp WORDPRESS_DB_PASSWORD=x \
      WORDPRESS_DB_NAME=wordpress WP_SENTINEL_MYSQL__ENABLED=false \
      WP_SENTINEL_WPCONFIG__INTERVAL=600s WP_SENTINEL_WPCONFIG__TIMEOUT=60s \
      "$binary" serve --listen "127.0.0.1:$port" --wordpress-url http://127.0.0.1:1/ \
      --wp-config "$dir/serve/wp-config.php" >/dev/null 2>&1 &
    pid=$!
    verdict + || { kill "$pid"; exit 1; }
    idle=$(kib "$pid" VmRSS)
    for file in $(for ((round = 0; round < ${ROUNDS:-3}; round++)); do echo parens balanced defines; done); do
      if ! { swap "$file" && verdict - && swap official && verdict +; }; then kill "$pid"; exit 1; fi
    done
    printf '| %s | %s | %s | %s | %s | %s |\n' "$(basename "$binary")" "$tuned" "$(mb "$idle")" \
      "$(mb "$(kib "$pid" VmHWM)")" "$(mb "$(kib "$pid" VmRSS)")" "$(mb "$(kib "$pid" RssAnon)")"
    kill "$pid"
    wait "$pid" || true
  done
done
exit $status
