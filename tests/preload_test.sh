#!/usr/bin/env bash
# libmemkit_malloc.so replaces malloc in programs nobody here wrote: sqlite3 on a
# scripted workload, python3 on an allocation-heavy script, git on a repository and
# gcc compiling and running a file each print the same with the preload as without,
# and the dynamic linker binds their malloc to it. tests/preload_probe.cc checks C++
# new/delete, alignment, cross-thread frees and fork under it.
# Usage: preload_test.sh LIBMEMKIT_MALLOC_SO PROBE [skip]
set -euo pipefail
if [[ "${3:-}" == skip ]]; then
    echo "skipped: a sanitizer build cannot be preloaded into uninstrumented programs"
    exit 0
fi
preload=$(realpath "$1")
probe=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0

# same NAME CMD...: runs CMD plainly and preloaded; both must succeed with the same
# output, and malloc must bind to the preload.
same() {
    local name="$1"; shift
    "$@" > "$name.plain" 2>&1 || { echo "FAIL $name: failed without the preload"; cat "$name.plain"; failures=$((failures + 1)); return; }
    if ! LD_PRELOAD="$preload" "$@" > "$name.preloaded" 2>&1; then
        echo "FAIL $name: failed under the preload"; tail -20 "$name.preloaded"; failures=$((failures + 1)); return
    fi
    # A debug build of the library traces to stderr ("memkit debug: ..."): not the program's.
    sed -i '/^memkit debug: /d' "$name.preloaded"
    if ! cmp -s "$name.plain" "$name.preloaded"; then
        echo "FAIL $name: output differs under the preload"; diff "$name.plain" "$name.preloaded" | head -20
        failures=$((failures + 1)); return
    fi
    LD_DEBUG=bindings LD_DEBUG_OUTPUT="$work/$name.bindings" LD_PRELOAD="$preload" "$@" > /dev/null 2>&1 || true
    if ! grep -q "libmemkit_malloc.so.*normal symbol \`malloc'" "$work/$name".bindings.*; then
        echo "FAIL $name: malloc was not bound to libmemkit_malloc.so"; failures=$((failures + 1)); return
    fi
    rm -f "$work/$name".bindings.*
    echo "ok $name ($(wc -l < "$name.plain") lines alike)"
}

cat > workload.sql <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v BLOB);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
INSERT INTO t SELECT i, printf('key-%08d', (i * 7919) % 50000), zeroblob(i % 300) FROM n;
CREATE INDEX tk ON t(k);
SELECT count(*), sum(length(v)), min(k), max(k) FROM t;
SELECT substr(k, 1, 6), count(*), avg(length(v)) FROM t GROUP BY substr(k, 1, 6) ORDER BY 1;
UPDATE t SET v = zeroblob(length(v) * 2) WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT group_concat(k, ',') FROM (SELECT k FROM t ORDER BY k DESC LIMIT 20);
VACUUM;
SELECT count(*), sum(length(v)) FROM t;
SQL
sqlite_run() { rm -f db.sqlite; sqlite3 db.sqlite < workload.sql; }
same sqlite3 sqlite_run

same python3 python3 -c '
import hashlib, json, random
random.seed(7)
d = {}
for i in range(300000):
    d["k%d" % i] = [random.random() for _ in range(i % 7)]
s = json.dumps(d, sort_keys=True)
words = sorted(set(s[i:i + 5] for i in range(0, len(s), 3)))
b = bytearray()
for w in words[:200000]:
    b += w.encode()
del d
print(len(s), len(words), hashlib.sha256(b).hexdigest())
'

export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" GIT_CONFIG_NOSYSTEM=1 HOME="$work"
git_run() {
    rm -rf repo && git init -q -b main repo && cd repo
    for i in $(seq 1 30); do
        seq "$i" 3000 | sed "s/^/line $i /" > "file$((i % 7)).txt"
        git add -A && git commit -q -m "commit $i"
    done
    git log --stat --format='%H %s' | head -200
    git gc -q --aggressive
    git fsck --full 2>&1
    git diff HEAD~10 --stat
    git rev-list --objects --all | wc -l
    cd ..
}
same git git_run

cat > program.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node* next; char text[40]; };
int main(void) {
    struct node* head = NULL;
    for (int i = 0; i < 100000; i++) {
        struct node* n = malloc(sizeof *n);
        snprintf(n->text, sizeof n->text, "node %d", i);
        n->next = head;
        head = n;
    }
    unsigned long sum = 0;
    while (head) { struct node* next = head->next; sum += strlen(head->text); free(head); head = next; }
    printf("%lu\n", sum);
    return 0;
}
C
gcc_run() { gcc -O2 -Wall -S -o - program.c | grep -v '\.ident'; gcc -O2 -o program program.c && ./program; }
same gcc gcc_run

if LD_PRELOAD="$preload" "$probe"; then
    echo "ok preload_probe"
else
    echo "FAIL preload_probe"; failures=$((failures + 1))
fi
echo "preload: $failures failure(s)"
[[ $failures -eq 0 ]]
