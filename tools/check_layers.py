#!/usr/bin/env python3
"""The layer order of src/ (README, "Architecture"): a folder uses only the folders before it;
folders of one rank do not use each other. Checked two ways:
  includes  every #include "folder/x.h", "x.h" and "onnxtrain/x.h" in src/ and include/ (public
            headers belong to the folder that implements them, OWNERS below);
  symbols   with BUILD_DIR, every function or variable an object file of the library uses
            from another object file is defined in its own folder or an earlier one (nm), so
            a declaration in the wrong header cannot hide a call against the order.
Also fails on a source folder, or a public header, that the order does not name, and on a
library string that names a command-line flag ("--lr"): only src/cli/ knows the flags; and,
with BUILD_DIR, on a global symbol of the library that is neither declared in a public header
(ot_) nor internal (oti_): the names an embedding program links against stay apart.
  tools/check_layers.py [BUILD_DIR]"""
import os
import re
import subprocess
import sys

RANKS = [["core"], ["ops"], ["graph"], ["exec"], ["formats"], ["onnx"], ["caffe", "weights", "data"], ["train"],
         ["viz"], ["cli"]]
RANK = {folder: i for i, group in enumerate(RANKS) for folder in group}
# Public headers and the folder whose code they declare. onnxtrain.h includes them all.
OWNERS = {
    "status.h": "core", "tensor.h": "core", "rng.h": "core", "model.h": "core", "context.h": "core",
    "graph.h": "graph", "plan.h": "exec", "onnx_io.h": "onnx", "caffe_io.h": "caffe", "weights.h": "weights",
    "dataset.h": "data", "train.h": "train", "optimizer.h": "train", "builder.h": "train",
    "transfer.h": "train", "process_group.h": "train",
}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


FLAG_IN_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*?(?<![\w-])--[a-z][a-z-]*')


def check_flag_names(problems):
    for folder in sorted(os.listdir(os.path.join(ROOT, "src"))):
        if folder == "cli" or folder not in RANK:
            continue
        for name in sorted(os.listdir(os.path.join(ROOT, "src", folder))):
            path = f"src/{folder}/{name}"
            for number, line in enumerate(open(os.path.join(ROOT, path)), 1):
                code = line.split("//")[0]
                if code.lstrip().startswith(("*", "/*")):
                    continue
                found = FLAG_IN_STRING.search(code)
                if found:
                    problems.append(f"{path}:{number}: a library message names a command-line flag: {found.group(0)[-30:]}")


def owner_of_include(name, here):
    """The folder an include belongs to, or None for headers outside the order."""
    if name.startswith("onnxtrain/"):
        return OWNERS.get(name[len("onnxtrain/"):], "?" + name)
    if "/" in name:
        return name.split("/")[0]
    return here  # same folder


def uses_allowed(user, used):
    return used == user or RANK[used] < RANK[user]


def check_includes(problems):
    for folder in sorted(os.listdir(os.path.join(ROOT, "src"))):
        if folder not in RANK:
            problems.append(f"src/{folder}/: a folder the layer order does not name (tools/check_layers.py)")
            continue
        for name in sorted(os.listdir(os.path.join(ROOT, "src", folder))):
            path = f"src/{folder}/{name}"
            for inc in INCLUDE.findall(open(os.path.join(ROOT, path)).read()):
                owner = owner_of_include(inc, folder)
                if owner is None or owner.startswith("?"):
                    problems.append(f"{path}: includes {inc}, a public header without an owner in OWNERS")
                elif owner not in RANK:
                    problems.append(f"{path}: includes {inc} from src/{owner}/, which the order does not name")
                elif not uses_allowed(folder, owner):
                    problems.append(f"{path}: includes {inc}: {folder} may not use {owner}")
    public = os.path.join(ROOT, "include", "onnxtrain")
    for name in sorted(os.listdir(public)):
        if name not in OWNERS:
            problems.append(f"include/onnxtrain/{name}: no owner in OWNERS")
            continue
        for inc in INCLUDE.findall(open(os.path.join(public, name)).read()):
            owner = owner_of_include(inc, None)
            if owner is None or not inc.startswith("onnxtrain/"):
                problems.append(f"include/onnxtrain/{name}: includes {inc}, not a public header")
            elif owner.startswith("?") or not uses_allowed(OWNERS[name], owner):
                problems.append(f"include/onnxtrain/{name}: includes {inc}: {OWNERS[name]} may not use {owner}")


def object_folders(build):
    """{object path: folder} for the library's objects whose source still exists (CMake keeps
    CMakeFiles/onnxtrain_objects.dir/src/<folder>/<name>.c.o, and leaves objects of moved files)."""
    found = {}
    objects = os.path.join(build, "CMakeFiles", "onnxtrain_objects.dir", "src")
    for folder in sorted(os.listdir(objects)) if os.path.isdir(objects) else []:
        for f in sorted(os.listdir(os.path.join(objects, folder))):
            if f.endswith(".c.o") and os.path.exists(os.path.join(ROOT, "src", folder, f[:-2])):
                found[os.path.join(objects, folder, f)] = folder
    return found


def check_symbols(build, problems):
    objects = object_folders(build)
    if not objects:
        problems.append(f"{build}: no object files of src/ found (build first)")
        return
    defined, undefined = {}, []
    public = set()
    for name in os.listdir(os.path.join(ROOT, "include", "onnxtrain")):
        public |= set(re.findall(r"\b(ot_[a-z0-9_]+)\s*\(", open(os.path.join(ROOT, "include", "onnxtrain", name)).read()))
    for path, folder in objects.items():
        out = subprocess.run(["nm", "--defined-only", "-g", path], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3:
                defined.setdefault(parts[2], set()).add(folder)
                # __odr_asan.* and the like: made by the compiler (sanitizers), not named by us
                made_by_compiler = parts[2].startswith("__")
                if folder != "cli" and not made_by_compiler and parts[2] not in public and not parts[2].startswith("oti_"):
                    problems.append(f"src/{folder}/: {parts[2]} is global but neither public API (a public "
                                    "header declares it) nor internal (oti_)")
        out = subprocess.run(["nm", "--undefined-only", "-g", path], capture_output=True, text=True).stdout
        undefined += [(path, folder, line.split()[-1]) for line in out.splitlines() if line.strip()]
    for path, folder, symbol in undefined:
        for owner in defined.get(symbol, ()):
            if owner in RANK and folder in RANK and not uses_allowed(folder, owner):
                rel = os.path.relpath(path, build)
                problems.append(f"{rel}: uses {symbol} from src/{owner}/: {folder} may not use {owner}")


def main(argv):
    problems = []
    check_includes(problems)
    check_flag_names(problems)
    if argv:
        check_symbols(argv[0], problems)
    order = " -> ".join("/".join(group) for group in RANKS)
    if problems:
        print(f"layer order {order}: {len(problems)} problem(s)")
        print("\n".join(sorted(set(problems))))
        return 1
    print(f"layer order {order}: every include{' and symbol' if argv else ''} follows it; no library string names a flag")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
