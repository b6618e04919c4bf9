"""Finding what blocks: guv's dump and blocking detector, with Python stacks.

    guv.debug.set_block_report(0.1)   # report any green thread that holds its hub 100 ms
    print("\\n".join(guv.debug.format_run_info()))

The detector's report is guv's own (the native stack of the offending
green thread, on stderr), followed by the Python stack of that green
thread. format_run_info() lists this OS thread's green threads, main
included, each with its state from guv_dump and its Python stack.
"""
import os
import traceback

from . import _core

__all__ = ["set_block_report", "format_run_info", "print_run_info", "dump"]


def dump():
    """guv_dump() of this OS thread's hub: a line about the hub, then one
    per green thread (id, name, state, time in it, stack size)."""
    return _core.dump()


def _describe(gid):
    if gid == 0:
        return "main"
    from .greenthread import _by_id

    gt = _by_id.get(gid)
    fn = getattr(gt, "_fn", None) if gt is not None else None
    name = getattr(fn, "__qualname__", None)
    return f"green thread {gid} ({name})" if name else f"green thread {gid}"


def _report(gid, os_thread, seconds, frame):
    lines = [f"guv: Python stack of {_describe(gid)}, blocking its hub (OS thread {os_thread}) "
             f"for {seconds * 1000:.0f} ms:\n"]
    if frame is None:
        lines.append("  (not running Python code)\n")
    else:
        lines.extend(traceback.format_stack(frame))
    os.write(2, "".join(lines).encode("utf-8", "replace"))


def set_block_report(seconds):
    """Report on stderr every green thread (or main) that runs `seconds`
    without switching, blocking every other green thread of its OS thread:
    guv's native report, then the Python stack. 0 turns it off."""
    _core.set_block_report(float(seconds), _report)


def format_run_info():
    """gevent-style lines: this OS thread's hub, then each green thread
    (main as id 0) with its state and, indented, its Python stack."""
    frames = _core.green_frames()
    out = []
    for line in _core.dump().splitlines():
        if not line.startswith("  id="):
            out.append(line)
            continue
        gid = int(line.split()[0][len("id="):])
        out.append(f"{line} ({_describe(gid)})")
        frame = frames.get(gid)
        if frame is not None:
            for entry in traceback.format_stack(frame):
                out.extend("    " + part for part in entry.rstrip("\n").split("\n"))
    return out


def print_run_info(file=None):
    """Print format_run_info()'s lines (to stderr by default)."""
    import sys

    print("\n".join(format_run_info()), file=file or sys.stderr)
