#!/usr/bin/env python3
"""Write data/acl/<version>.toml from a redis/redis git repository at a release tag.

    scripts/acl-data-from-source.py GIT_DIR REF VERSION "SOURCE TEXT" > data/acl/VERSION.toml

Reads facts only (no code is copied or built):
  * the ACL categories: the category table of src/acl.c;
  * 7.0 and later: every src/commands/*.json (name, container, command_flags, acl_categories);
    the categories a command gets implicitly from its flags follow setImplicitACLCategories()
    in src/server.c (write, read unless @scripting, admin + dangerous, pubsub, fast, blocking,
    and slow when not fast); Sentinel-only commands are left out (a redis-server does not have them);
  * 6.2: the redisCommandTable[] entries of src/server.c ("name",function,arity,"flags" ...),
    flags as populateCommandTableParseFlags() reads them. 6.2 has no subcommand ACLs.

Checked: on redis/redis tag 7.0.15 it gives exactly data/acl/7.0.toml, which is read from a real
redis-server 7.0.15 (and compared with it by tests/peers/acl_data.rs).

The output layout is the one src/model/acl.rs reads and tests/peers/acl_data.rs writes for the
installed server (scripts/refresh-acl-data.sh), so files from either source diff cleanly.
"""
import json
import re
import subprocess
import sys


def git(git_dir, *args):
    return subprocess.run(["git", "-C", git_dir, *args], check=True, capture_output=True, text=True).stdout


def categories_of_acl_c(text):
    m = re.search(r"ACL(?:Default)?CommandCategories\[\]\s*=\s*\{(.*?)\};", text, re.S)
    return re.findall(r'\{"([a-z]+)"', m.group(1))


def from_json(git_dir, ref, order):
    commands = {}
    files = git(git_dir, "ls-tree", "--name-only", f"{ref}:src/commands/").split()
    for f in sorted(files):
        if not f.endswith(".json"):
            continue
        doc = json.loads(git(git_dir, "show", f"{ref}:src/commands/{f}"))
        for name, spec in doc.items():
            flags = set(spec.get("command_flags", []))
            if "ONLY_SENTINEL" in flags:
                continue
            cats = {c.lower() for c in spec.get("acl_categories", [])}
            if "WRITE" in flags:
                cats.add("write")
            if "READONLY" in flags and "scripting" not in cats:
                cats.add("read")
            if "ADMIN" in flags:
                cats |= {"admin", "dangerous"}
            if "PUBSUB" in flags:
                cats.add("pubsub")
            if "FAST" in flags:
                cats.add("fast")
            if "BLOCKING" in flags:
                cats.add("blocking")
            if "fast" not in cats:
                cats.add("slow")
            full = name.lower()
            if "container" in spec:
                full = spec["container"].lower() + "|" + full
            commands[full] = [c for c in order if c in cats]
    return commands


def from_server_c(text, order):
    table = text[text.index("struct redisCommand redisCommandTable[] = {"):]
    table = table[: table.index("\n};")]
    commands = {}
    for name, flags in re.findall(r'\{"([a-z_:-]+)",\s*\w+,\s*-?\d+,\s*"([^"]*)"', table):
        cats = set()
        for flag in flags.split():
            if flag == "write":
                cats.add("write")
            elif flag == "read-only":
                cats.add("read")
            elif flag == "admin":
                cats |= {"admin", "dangerous"}
            elif flag == "pub-sub":
                cats.add("pubsub")
            elif flag == "fast":
                cats.add("fast")
            elif flag.startswith("@"):
                cats.add(flag[1:])
        if "fast" not in cats:
            cats.add("slow")
        commands[name] = [c for c in order if c in cats]
    return commands


def toml_list(items):
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def main():
    git_dir, ref, version, source = sys.argv[1:5]
    order = categories_of_acl_c(git(git_dir, "show", f"{ref}:src/acl.c"))
    if int(version.split(".")[0]) >= 7:
        commands = from_json(git_dir, ref, order)
    else:
        commands = from_server_c(git(git_dir, "show", f"{ref}:src/server.c"), order)
    print(f"# ACL categories and commands of Redis {version}: what `acl.users[].commands` may name.")
    print("# Written by scripts/acl-data-from-source.py; read by src/model/acl.rs.")
    print(f'version = "{version}"')
    print(f"source = {json.dumps(source)}")
    print("names_checked = true")
    print(f"categories = {toml_list(order)}")
    print()
    print("[commands]")
    for name in sorted(commands):
        print(f'"{name}" = {toml_list(commands[name])}')


main()
