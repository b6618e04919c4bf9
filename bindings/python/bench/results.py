"""benches/results/python.md is shared by the three benchmarks: each one
replaces only its own sections, so the others' and any written by hand stay."""
import os
import re

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def where(path):
    """`path` as the results name it: within the repository, relative to it (no machine paths)."""
    path = os.path.abspath(path)
    return os.path.relpath(path, REPO) if path.startswith(REPO + os.sep) else os.path.basename(path)


def replace_section(path, section):
    """Puts `section` (a markdown block starting with its heading line) in
    place of the file's block with the same heading, or at the file's end. A
    `# ` block is the file's head, everything before its first `## `."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    # Each block: a heading line ("# " for the head, "## " for the others) and what follows it.
    blocks = [b.strip("\n") for b in re.split(r"^(?=## )", text, flags=re.M) if b.strip()]
    heading = section.split("\n", 1)[0]
    key = (lambda b: b.startswith("# ")) if heading.startswith("# ") else (lambda b: b.split("\n", 1)[0] == heading)
    section = section.strip("\n")
    for i, b in enumerate(blocks):
        if key(b):
            blocks[i] = section
            break
    else:
        blocks.insert(0, section) if heading.startswith("# ") else blocks.append(section)
    with open(path, "w") as f:
        f.write("\n\n".join(blocks) + "\n")
