#!/usr/bin/env python3
"""Who calls whom in memkit/src, checked against docs/architecture.md.

Reads every library source file, finds the functions each one defines and the ones it
calls in other files (a call through an inline function of an internal header counts
as a call from the file that uses it, to wherever the inline function calls), and
checks the layer table of docs/architecture.md ("## Layers"): every file is in one
layer, every call goes to the same layer or one below it, except the back-calls the
document lists ("## Back-calls"), and without those the calls form no cycle. Also that every field types.h declares
with mem__atomic(...) (whose name no other field has) is never read or written
plainly. The graph is the thread-safe build's: a
file whose code is all under `#if !MEM_THREAD_SAFE` (the single-threaded build's) is
only required to be named in that section. Also checks that
internal.h declares each function under the heading of the file that defines it.

Usage: tests/layers.py [--graph] [--write]   (--graph prints every file's callees;
--write rewrites the who-calls-whom table of docs/architecture.md from the code)
Exits 1 and says why when the code and the document disagree.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SRC = os.path.join(ROOT, "memkit", "src")
DOC = os.path.join(ROOT, "docs", "architecture.md")

DEFINITION = re.compile(r"^[A-Za-z_][\w \*]*?\b((?:mem|MEM)_\w+)\s*\(([^;{]|\n)*?\)\s*\{", re.M)
INLINE = re.compile(r"^static (?:inline|mem__always_inline) [\w \*]*?\b(mem__\w+)\s*\(", re.M)


def strip_comments(text):
    """`text` without comments, its line numbers kept."""
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


def body_after(text, start):
    """The text of the brace-delimited body that follows position `start`."""
    open_at = text.index("{", start)
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[open_at:i + 1]
    return text[open_at:]


def calls_in(text, names):
    return {n for n in names if re.search(r"\b" + re.escape(n) + r"\s*\(", text)}


def single_threaded_only(text):
    """True for a file whose code is all inside `#if !MEM_THREAD_SAFE`."""
    first = re.search(r"^\s*#\s*if\b.*$", text, re.M)
    return first is not None and re.match(r"\s*#\s*if\s+!\s*MEM_THREAD_SAFE\b", first.group(0)) is not None \
        and text.strip().endswith("#endif")


def graph():
    sources = sorted(f for f in os.listdir(SRC) if f.endswith(".c"))
    texts = {f: strip_comments(open(os.path.join(SRC, f)).read()) for f in sources}
    # The thread-safe build's graph: files it compiles to nothing count as empty.
    texts = {f: "" if single_threaded_only(t) else t for f, t in texts.items()}
    defined = {}
    for f, text in texts.items():
        for m in DEFINITION.finditer(text):
            defined.setdefault(m.group(1), f)
    # Inline functions of the internal headers and what each calls, transitively.
    inline_bodies = {}
    for header in sorted(h for h in os.listdir(SRC) if h.endswith(".h")):
        text = strip_comments(open(os.path.join(SRC, header)).read())
        for m in INLINE.finditer(text):
            inline_bodies[m.group(1)] = body_after(text, m.end())
    inline_calls = {n: calls_in(b, defined) for n, b in inline_bodies.items()}
    inline_uses = {n: calls_in(b, inline_bodies) - {n} for n, b in inline_bodies.items()}
    changed = True
    while changed:
        changed = False
        for n, used in inline_uses.items():
            for u in list(used):
                if not inline_calls[u] <= inline_calls[n]:
                    inline_calls[n] |= inline_calls[u]
                    changed = True
                if not inline_uses[u] <= used:
                    used |= inline_uses[u]
                    changed = True
    edges = {}
    for f, text in texts.items():
        called = calls_in(text, defined)
        for n in calls_in(text, inline_bodies):
            called |= inline_calls[n]
        for name in called:
            if defined[name] != f:
                edges.setdefault(f, {}).setdefault(defined[name], set()).add(name)
    return sources, edges, defined


PROTOTYPE = re.compile(r"^(?!static|typedef|#|extern)[A-Za-z_][\w \*]*?\b((?:mem|MEM)_\w+)\s*\([^;{]*\);", re.M)


def heading_problems(defined):
    """internal.h groups its prototypes under `/* ---- file.c` headings: each must be
    defined in a file its heading names."""
    problems = []
    text = open(os.path.join(SRC, "internal.h")).read()
    parts = re.split(r"^/\* ---- ", text, flags=re.M)
    for part in parts[1:]:
        title = part.split("\n", 1)[0]
        files = set(re.findall(r"\b(\w+\.c)\b", title.split(":")[0]))
        for m in PROTOTYPE.finditer(strip_comments(part)):
            name = m.group(1)
            where = defined.get(name)
            if where is None:
                problems.append(f"internal.h declares {name}, which no file defines")
            elif where not in files:
                problems.append(f"internal.h declares {name} under \"{title[:40]}\", but {where} defines it")
    return problems


FIELD = re.compile(r"^\s+(?:mem__atomic\(([^)]*)\)|[A-Za-z_][\w \*]*?)\s*\**\s*\b(\w+)\s*(?:\[[^\]]*\])?\s*;", re.M)


def atomic_field_problems():
    """Fields of types.h declared with mem__atomic(...) whose names no other field
    has: every use in memkit/src takes the field's address (for a mem__atomic_*
    operation or a futex), none reads or writes it plainly."""
    declared = {}
    atomic = set()
    headers = [os.path.join(SRC, "types.h")]
    public = os.path.join(ROOT, "memkit", "include", "memkit")
    headers += [os.path.join(public, h) for h in os.listdir(public) if h.endswith(".h")]
    for header in headers:
        for m in FIELD.finditer(strip_comments(open(header).read())):
            declared[m.group(2)] = declared.get(m.group(2), 0) + 1
            if m.group(1) is not None and header.endswith("types.h"):
                atomic.add(m.group(2))
    problems = []
    checked = sorted(f for f in atomic if declared[f] == 1)
    for name in sorted(os.listdir(SRC)):
        if not name.endswith((".c", ".h")):
            continue
        text = strip_comments(open(os.path.join(SRC, name)).read())
        for field in checked:
            for m in re.finditer(r"(?:->|\.)" + field + r"\b", text):
                start = text.rfind("&", 0, m.start())
                between = text[start + 1:m.start()] if start >= 0 else "?"
                if not re.fullmatch(r"[\w\[\]\->.()]*", between):
                    line = text.count("\n", 0, m.start()) + 1
                    problems.append(f"{name}:{line}: the atomic field `{field}` read or written plainly")
    if not checked:
        problems.append("types.h declares no field with mem__atomic(...)")
    return problems, checked


def documented():
    """The layers (top first) and back-calls docs/architecture.md states."""
    text = open(DOC).read()
    layers_part = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    layers = []
    for line in layers_part.splitlines():
        if line.startswith("|") and not line.startswith("| ---") and "`" in line:
            layers.append(re.findall(r"`(\w+\.c)`", line.split("|")[2]))
    back_part = text.split("## Back-calls", 1)[1].split("\n## ", 1)[0]
    back = set(re.findall(r"`(\w+\.c)` → `(\w+\.c)`", back_part))
    return layers, back


def cycle(nodes, edges):
    """A cycle among `edges`, or None."""
    state = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(edges.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for node in nodes:
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


GRAPH_BEGIN = "<!-- who calls whom: written by tests/layers.py --write -->"
GRAPH_END = "<!-- end of who calls whom -->"


def graph_markdown(sources, edges):
    lines = [GRAPH_BEGIN, "", "| file | calls functions of |", "| --- | --- |"]
    for f in sources:
        callees = ", ".join(f"`{c}`" for c in sorted(edges.get(f, {}))) or "nothing else"
        if single_threaded_only(strip_comments(open(os.path.join(SRC, f)).read())):
            callees = "(compiled in the single-threaded build only)"
        lines.append(f"| `{f}` | {callees} |")
    return "\n".join(lines + ["", GRAPH_END])


def graph_problems(sources, edges, write):
    """docs/architecture.md's who-calls-whom table must be the code's (rewritten
    with --write)."""
    text = open(DOC).read()
    if GRAPH_BEGIN not in text or GRAPH_END not in text:
        return ["docs/architecture.md has no who-calls-whom table (its marker lines)"]
    wanted = text.split(GRAPH_BEGIN)[0] + graph_markdown(sources, edges) + text.split(GRAPH_END)[1]
    if wanted == text:
        return []
    if write:
        open(DOC, "w").write(wanted)
        print("layers: wrote the who-calls-whom table of docs/architecture.md")
        return []
    return ["docs/architecture.md's who-calls-whom table is not the code's: run tests/layers.py --write"]


def main():
    sources, edges, defined = graph()
    if "--graph" in sys.argv:
        for f in sources:
            print(f, "->", ", ".join(sorted(edges.get(f, {}))))
    layers, back = documented()
    level = {}
    problems = []
    for i, files in enumerate(layers):
        for f in files:
            if f in level:
                problems.append(f"{f} is in two layers")
            level[f] = len(layers) - i  # the top layer has the highest level
    layers_text = open(DOC).read().split("## Layers", 1)[1].split("\n## ", 1)[0]
    for f in sources:
        if f in level:
            continue
        if not edges.get(f) and f"`{f}`" in layers_text and \
                single_threaded_only(strip_comments(open(os.path.join(SRC, f)).read())):
            continue  # the single-threaded build's file, named beside the table
        problems.append(f"{f} is in no layer of docs/architecture.md")
    for f in level:
        if f not in sources:
            problems.append(f"docs/architecture.md names {f}, which does not exist")
    for a, b in sorted(back):
        if b not in edges.get(a, {}):
            problems.append(f"documented back-call {a} → {b} does not happen")
    forward = {}
    for a, callees in edges.items():
        for b, names in callees.items():
            if (a, b) in back:
                continue
            forward.setdefault(a, {})[b] = names
            if a in level and b in level and level[b] > level[a]:
                problems.append(f"{a} calls up into {b} ({', '.join(sorted(names))})")
    problems += graph_problems(sources, edges, "--write" in sys.argv)
    problems += heading_problems(defined)
    atomic_problems, atomic_checked = atomic_field_problems()
    problems += atomic_problems
    loop = cycle(sources, forward)
    if loop:
        problems.append("calls form a cycle: " + " → ".join(loop))
    for p in problems:
        print("layers:", p)
    count = sum(len(c) for c in edges.values())
    print(f"layers: {len(atomic_checked)} atomic fields accessed only through their addresses "
          f"({', '.join(atomic_checked)})")
    print(f"layers: {len(sources)} files, {count} file-to-file calls, {len(back)} documented back-calls: "
          + ("FAIL" if problems else "ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
