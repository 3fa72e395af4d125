#!/usr/bin/env bash
# Every public function (MEM_API in memkit/include) has a contract comment right
# above its declaration and a section in docs/api.md, api.md documents nothing that
# does not exist, and its reference is what docs/gen_api.py makes of the headers.
set -euo pipefail
api_md="$1"; shift
fail=0
# A function a header also defines as a macro is declared as `(name)(...)`.
declared=$(grep -hoE "MEM_API [^;]*\bmem_[a-z_]+\)?\(" "$@" | grep -oE "mem_[a-z_]+\)?\($" | tr -d '()' | sort -u)
documented=$(grep -oE '^### `mem_[a-z_]+`' "$api_md" | grep -oE 'mem_[a-z_]+' | sort -u)
for f in $declared; do
    grep -qx "$f" <<<"$documented" || { echo "FAIL: $f is not documented in docs/api.md"; fail=1; }
done
for f in $documented; do
    grep -qx "$f" <<<"$declared" || { echo "FAIL: docs/api.md documents $f, which no header declares"; fail=1; }
done
for header in "$@"; do
    # The line before each MEM_API declaration must close a comment.
    awk -v file="$header" '/^MEM_API/ { if (prev !~ /\*\/[[:space:]]*$/) { print "FAIL: no contract comment above " file ":" NR ": " $0; bad=1 } }
        { prev=$0 } END { exit bad }' "$header" || fail=1
done
python3 docs/gen_api.py --check || fail=1
count=$(wc -w <<<"$declared")
[[ $fail -eq 0 ]] && echo "PASS: $count public functions, each with a header contract copied into docs/api.md"
exit $fail
