# The report container's program (src/sinks/marimo-report.ts passes it with `python -c`): marimo's own
# `marimo export html` command, run in this process once the results rows arrive, with the slow part done before.
#
# The container starts while the job's files still run. marimo runs a notebook in a kernel process it spawns, which
# imports marimo, pandas and the plotting packages afresh: most of the export's seconds. Here the kernel is forked
# instead from a forkserver that has them imported already; the template itself runs only once the rows are there.
# Should marimo no longer expose the kernel's process context, the kernel is spawned as marimo does.
#
# The rows come as /input/args.json, a JSON list of the command-line arguments after `--`, written by the worker
# (renamed into place, so it is never read half-written). /input is read-only here.
import json
import multiprocessing
import os
import sys
import time

PRELOAD = ["marimo._runtime.runtime", "pandas", "matplotlib.pyplot", "seaborn"]
ARGS = "/input/args.json"


def main():
    multiprocessing.set_forkserver_preload(PRELOAD)
    from multiprocessing import forkserver

    forkserver.ensure_running()
    from marimo._cli import cli

    try:
        from marimo._session.managers import kernel
    except ImportError:
        kernel = None
    if hasattr(kernel, "get_context"):
        context = multiprocessing.get_context("forkserver")
        kernel.get_context = lambda method=None: context
    while not os.path.exists(ARGS):
        time.sleep(0.02)
    with open(ARGS, encoding="utf-8") as file:
        args = json.load(file)
    sys.argv = [
        "marimo",
        "export",
        "html",
        "/template/template.py",
        "-o",
        "/report/report.html",
        "--no-include-code",
        "--no-sandbox",
        "--",
        *args,
    ]
    cli.main(prog_name="marimo")


if __name__ == "__main__":
    main()
