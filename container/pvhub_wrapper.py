"""Runs a PV Validation Hub submission's function on one data file, inside the submission's container.

    python /opt/pvhub/pvhub_wrapper.py --module submission_wrapper --function NAME --data /data/FILE.csv
        --out /results --kwargs '[["latitude", 39.7], ["data_sampling_frequency", null]]' [--code-dir DIR]

Writes <out>/output.csv (the return value, in the original Hub wrapper's shape) and <out>/status.json, which the
worker reads instead of guessing from the exit status. Runs on Python 3.9+ with pandas 1.x or 2.x.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
import traceback

# Bound before the submission is imported, so replacing time.perf_counter from its code cannot fake the runtime.
from time import perf_counter

KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
POSITIONAL_KINDS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class Failure(Exception):
    """Ends the run with a Hub error code, reported in status.json."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def described(error):
    return "%s: %s" % (type(error).__name__, error)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--module", required=True)
    parser.add_argument("--function", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--kwargs", default="[]", help="JSON list of [name, value] pairs, value number|string|null")
    parser.add_argument("--code-dir", default="/app/submission")
    args = parser.parse_args(argv)
    # Resolved now: the submission runs with its own folder as the working directory.
    args.data, args.out, args.code_dir = (os.path.abspath(p) for p in (args.data, args.out, args.code_dir))
    return args


def parse_kwargs(text):
    try:
        pairs = json.loads(text)
        if not all(isinstance(name, str) for name, _ in pairs):
            raise ValueError("names must be strings")
    except (TypeError, ValueError) as error:
        raise Failure("wr_500", "the worker passed malformed --kwargs (%s)" % described(error))
    # The Hub passes numbers as floats (contract §5); strings stay strings.
    return [(name, float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v) for name, v in pairs]


def load_function(code_dir, module_name, function_name):
    sys.path.insert(0, code_dir)
    os.chdir(code_dir)
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as error:
        traceback.print_exc()
        raise Failure("sb_500", described(error))
    function = getattr(module, function_name, None)
    if not callable(function):
        raise Failure("op_6", "the submission's %s module defines no function %s" % (module_name, function_name))
    return function


def signature_of(function):
    """The function's parameters by name, or None when Python cannot tell (some builtins)."""
    try:
        return inspect.signature(function).parameters
    except (TypeError, ValueError):
        return None


def read_series(pd, data_path):
    """One Series per value column: the Hub's main branch squeezes its single column, develop passes each."""
    try:
        frame = pd.read_csv(data_path, index_col=0, parse_dates=True)
    except Exception as error:
        raise Failure("wr_10", "the data file cannot be read: %s" % described(error))
    return [frame[column] for column in frame.columns]


def names_agree(parameters, series_count, names):
    """
    Whether the kwargs can go by name. The original passed them by position only, so a function whose parameters are
    in another order, or that takes only some of them, silently got the wrong values. Names are used when every kwarg
    names a parameter, or every parameter that would receive a kwarg by position is named after one.
    """
    after_series = list(parameters.values())[series_count:]
    by_name = [p.name for p in after_series if p.kind in KEYWORD_KINDS]
    receivers = [p for p in after_series if p.kind in POSITIONAL_KINDS][: len(names)]
    every_kwarg_named = all(name in by_name for name in names)
    every_receiver_named = bool(receivers) and all(p.name in names and p.name in by_name for p in receivers)
    return bool(names) and (every_kwarg_named or every_receiver_named)


def call_arguments(parameters, series, kwargs):
    """Positional and keyword arguments for the call: the series first, then the task's kwargs in order."""
    names = [name for name, _ in kwargs]
    if parameters is None:
        return series + [value for _, value in kwargs], {}
    if not names_agree(parameters, len(series), names):
        # As the original: cut to the parameter count, a missing value is None.
        return (series + [value for _, value in kwargs])[: len(parameters)], {}
    keywords = {}
    for name, value in kwargs:
        parameter = parameters.get(name)
        if parameter is None or (value is None and parameter.default is not inspect.Parameter.empty):
            continue
        keywords[name] = value
    return series, keywords


def timed_call(function, args, keywords):
    try:
        started = perf_counter()
        result = function(*args, **keywords)
        return result, perf_counter() - started
    except (Exception, SystemExit) as error:
        traceback.print_exc()
        raise Failure("sb_500", described(error))


def write_output(pd, result, path):
    """Tuples and scalars become one row with columns 0..k-1; anything else a frame of the value (contract §6)."""
    try:
        if isinstance(result, tuple):
            frame = pd.DataFrame([result])
        elif pd.api.types.is_scalar(result):
            frame = pd.DataFrame([(result,)])
        else:
            frame = pd.DataFrame(result)
        frame.to_csv(path, header=True)
    except Exception as error:
        raise Failure("sb_500", "the function's return value cannot be written as a table: %s" % described(error))


def run(args):
    kwargs = parse_kwargs(args.kwargs)
    function = load_function(args.code_dir, args.module, args.function)
    try:
        import pandas as pd
    except Exception as error:
        raise Failure("sb_500", described(error))
    parameters = signature_of(function)
    positional, keywords = call_arguments(parameters, read_series(pd, args.data), kwargs)
    result, seconds = timed_call(function, positional, keywords)
    write_output(pd, result, os.path.join(args.out, "output.csv"))
    return {"ok": True, "execution_time": seconds, "function_parameters": list(parameters or [])}


def main(argv):
    args = parse_args(argv)
    try:
        report = run(args)
    except Failure as failure:
        report = {"ok": False, "code": failure.code, "message": str(failure)}
        print("pvhub: %s: %s" % (failure.code, failure), file=sys.stderr)
    with open(os.path.join(args.out, "status.json"), "w") as status:
        json.dump(report, status)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Ends now even if the submission left threads or atexit hooks behind: they could rewrite the report afterwards
    # or hold the container until its time limit.
    os._exit(code)
