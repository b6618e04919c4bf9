"""Support modules: blocking C drivers made cooperative, each switched on
by guv.monkey_patch() (every driver below that is installed; name=False
leaves one out) or by hand with guv.support.<name>.enable(). Importing guv
switches none on. Each module has enable(), disable() and enabled()."""
import importlib
import importlib.util

# monkey_patch keyword -> the module the driver imports as.
DRIVERS = {"psycopg2": "psycopg2", "psycopg": "psycopg", "pymysql": "pymysql", "psycopg2cffi": "psycopg2cffi"}


def installed(name):
    """Whether the driver behind support module `name` can be imported. A
    directory of that name without an __init__.py (a namespace package: say,
    psycopg2's source tree has psycopg/ for its C files) is not the driver."""
    spec = importlib.util.find_spec(DRIVERS[name])
    return spec is not None and spec.origin is not None


def __getattr__(name):
    # guv.support.psycopg2.enable() after a bare `import guv`, as the README
    # writes it: a driver's support module (and so the driver) is imported
    # on first use, never by `import guv`.
    if name in DRIVERS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def enable(name):
    importlib.import_module(f"{__name__}.{name}").enable()


def get_errno(exc):
    """The errno of an exception: exc.errno, else its first argument when
    that is one (old socket.error style), else None."""
    errno = getattr(exc, "errno", None)
    if errno is not None:
        return errno
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None
