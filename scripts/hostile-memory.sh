#!/usr/bin/env bash
# Peak RSS of `wp-sentinel wpconfig FILE` (the reader and the drift comparison,
# nothing else) on hostile 1 MiB wp-config.php files, against the official
# image's file read by the same binary in the same run (issue 12, item 5).
#
#   scripts/hostile-memory.sh BINARY [BINARY ...]
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
exit $status
