#!/usr/bin/env python3
"""No import loops between the modules of a crate.

Module A "uses" module B when A names `crate::b...`, `super::...` or
`self::...` leading into B (test code aside). A loop (A uses B and B uses
A, directly or through others) means neither can be read, changed or
tested without the other: the two are one module in two files, or a piece
of one belongs in a third. The crate root is left out: it declares and
re-exports every module.

    scripts/check-module-loops.py     # from the repository's root
"""
import os, re, sys
def modules(src):
    mods = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith('.rs'): continue
            p = os.path.join(root, f)
            rel = os.path.relpath(p, src)[:-3].split(os.sep)
            if rel[-1] in ('mod', 'lib', 'main'): rel = rel[:-1]
            if rel and rel[0] == 'bin': continue
            mods[tuple(rel)] = p
    return mods
def strip(text):
    text = re.sub(r'//[^\n]*', '', text)
    # drop #[cfg(test)] mod tests { ... } blocks roughly: cut from '#[cfg(test)]' to end
    i = text.find('#[cfg(test)]')
    return text if i < 0 else text[:i]
def refs(text):
    out = []
    # expand use-trees: crate::a::{b, c::d}
    for m in re.finditer(r'\b(crate|super(?:::super)*|self)::([A-Za-z_][\w:]*)(::\{([^;]*?)\})?', text):
        base, path = m.group(1), m.group(2)
        out.append((base, path.split('::')))
    return out
def resolve(mod, base, parts, mods):
    if base == 'crate': cur = ()
    elif base == 'self': cur = mod
    else:
        n = base.count('super'); cur = mod[:len(mod)-n] if n <= len(mod) else ()
    target = cur
    for p in parts:
        if target + (p,) in mods: target = target + (p,)
        else: break
    return target
def cycles(src):
    mods = modules(src)
    g = {m: set() for m in mods}
    for m, p in mods.items():
        for base, parts in refs(strip(open(p).read())):
            t = resolve(m, base, parts, mods)
            if t != m and not (len(t) < len(m) and m[:len(t)] == t and t == ()) :
                g[m].add(t)
    # strongly connected components (Tarjan)
    idx, low, stack, on, res, c = {}, {}, [], set(), [], [0]
    def sc(v):
        idx[v] = low[v] = c[0]; c[0] += 1; stack.append(v); on.add(v)
        for w in g[v]:
            if w not in idx: sc(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: res.append(comp)
    sys.setrecursionlimit(10000)
    for v in g:
        if v not in idx: sc(v)
    return res
status = 0
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
for crate in sorted(os.listdir('crates')) + ['../runtime-tests']:
    src = os.path.join('crates', crate, 'src')
    for comp in cycles(src):
        status = 1
        print(f"modules: {crate.lstrip('./')}: an import loop: "
              + " <-> ".join("::".join(m) or "crate" for m in sorted(comp)), file=sys.stderr)
if status == 0:
    print("modules: no import loops between the modules of any crate")
sys.exit(status)
