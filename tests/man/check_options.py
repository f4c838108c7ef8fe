#!/usr/bin/env python3
"""check_options.py PROGRAM MAN.scd EXIT-CODES.md - the man page and --help agree.

For the program and each of its commands, every option --help shows (in the
usage lines or as an option term) must be an option term in the man page's
section for it, and every option term there must appear in --help.  A command's
man section is its "## COMMAND" subsection plus the shared sections it names in
bold (*RELEASE SOURCE OPTIONS*, *COMMON OPTIONS*).  The man page's EXIT STATUS
must list exactly the codes of docs/exit-codes.md.  TAP output; a failure says
which option is missing where."""
import os
import re
import subprocess
import sys

OPT = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
SHARED = ("RELEASE SOURCE OPTIONS", "COMMON OPTIONS")


def run_help(prog, args):
    p = subprocess.run([prog] + args + ["--help"], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise SystemExit(f"Bail out! {' '.join([os.path.basename(prog)] + args)} --help exited {p.returncode}")
    return p.stdout


def help_options(text):
    """Options of a --help text: those in the usage block and in option terms."""
    opts = set()
    lines = text.splitlines()
    i = 0
    while i < len(lines) and lines[i].strip():  # the usage block
        opts.update(OPT.findall(lines[i]))
        i += 1
    for line in lines[i:]:
        s = line.strip()
        if line[:1].isspace() and s.startswith("-"):
            term = re.split(r"\s{2,}", s)[0]
            opts.update(OPT.findall(term))
    return opts


def man_sections(path):
    """{heading: [lines]} for '# X' and '## X' headings."""
    secs, cur = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(#{1,2}) (.+?)\s*$", line)
            if m:
                cur = ("## " if m.group(1) == "##" else "# ") + m.group(2)
                secs[cur] = []
            elif cur:
                secs[cur].append(line.rstrip("\n"))
    return secs


def man_terms(lines):
    opts = set()
    for line in lines:
        if line.startswith("*-"):
            opts.update(OPT.findall(line))
    return opts


def main():
    prog, scd, exit_md = sys.argv[1:4]
    name = os.path.basename(prog)
    page = os.path.relpath(scd, os.environ.get("SRCDIR", os.getcwd()))
    secs = man_sections(scd)
    results = []

    def check(what, help_opts, man_opts, where):
        problems = []
        for o in sorted(help_opts - man_opts):
            problems.append(f"{o} is in '{what} --help' but not in {page} {where}")
        for o in sorted(man_opts - help_opts):
            problems.append(f"{o} is in {page} {where} but not in '{what} --help'")
        results.append((what, problems))

    top = run_help(prog, [])
    commands = []
    in_cmds = False
    for line in top.splitlines():
        if line.startswith("Commands:"):
            in_cmds = True
            continue
        if in_cmds:
            m = re.match(r"^  (\S+)\s", line)
            if not m:
                break
            commands.append(m.group(1))
    check(name, help_options(top), man_terms(secs.get("# OPTIONS", [])), "section '# OPTIONS'")
    results.append((f"{name} --help names its man page",
                    [] if f"{name}(1)" in top else [f"'{name} --help' does not mention {name}(1)"]))

    documented = {h[3:] for h in secs if h.startswith("## ")}
    for c in commands:
        head = "## " + c
        if head not in secs:
            results.append((f"{name} {c}", [f"command '{c}' is in '{name} --help' but {page} has no section '{head}'"]))
            continue
        man = man_terms(secs[head])
        text = "\n".join(secs[head])
        for s in SHARED:
            if f"*{s}*" in text:
                man |= man_terms(secs.get("# " + s, []))
        check(f"{name} {c}", help_options(run_help(prog, [c])), man,
              f"section '{head}' (with the shared sections it names)")
    extra = sorted(documented - set(commands))
    results.append((f"{name}: every command section is a command",
                    [f"{page} has section '## {c}' but '{name} --help' lists no command '{c}'" for c in extra]))

    with open(exit_md, encoding="utf-8") as f:
        want = {int(m.group(1)) for m in re.finditer(r"^\| (\d+) \|", f.read(), re.M)}
    got = set()
    for line in secs.get("# EXIT STATUS", []):
        m = re.match(r"^\*(\d+)\*", line)
        if m:
            got.add(int(m.group(1)))
    probs = []
    if not want:
        probs.append(f"no exit codes found in {exit_md}")
    if want - got:
        probs.append(f"exit codes {sorted(want - got)} of docs/exit-codes.md are not in {page} '# EXIT STATUS'")
    if got - want:
        probs.append(f"exit codes {sorted(got - want)} in {page} '# EXIT STATUS' are not in docs/exit-codes.md")
    results.append((f"{name}: exit codes", probs))

    print(f"1..{len(results)}")
    failed = 0
    for n, (what, problems) in enumerate(results, 1):
        if problems:
            failed += 1
            print(f"not ok {n} - {what}")
            for p in problems:
                print(f"# {p}")
                print(f"{name}: man page drift: {p}", file=sys.stderr)
        else:
            print(f"ok {n} - {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
