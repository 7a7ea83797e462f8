"""The call of a PV Validation Hub submission's function on one data file: the child process of
container/pvhub_wrapper.py (the supervisor), on the image's own python, among the submission's code.

    python pvhub_call.py --module M --function F --data FILE --kwargs KWARGS --code-dir DIR --go-fd N --frames-fd N

KWARGS is the task's kwargs as the supervisor checked them: a JSON list of [name, value] pairs, numbers as floats.
A file of its own, apart from the supervisor's, because every file's fresh container starts this interpreter: it
imports only what the call needs (not even argparse: its one caller is the supervisor), and pandas and the
submission's imports come on top of them.

It says what happened over the frames fd, in frames "<kind> <length>\\n<payload>": `ready` (the function's parameter
names, as JSON), then, after the supervisor's go (one byte on the go fd), `result` (the output CSV); or `missing` (no
such function) or `error` (a message) at any point. The data is read after the go. Frames choose no Hub code: the
supervisor does.
"""

import gc
import importlib
import inspect
import json
import os
import sys
import traceback

KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
POSITIONAL_KINDS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
GO = b"g"


def described(error):
    return "%s: %s" % (type(error).__name__, error)


class CallFailure(Exception):
    """Ends the call; `kind` is the frame that reports it (missing or error)."""

    def __init__(self, kind, message=""):
        super().__init__(message)
        self.kind = kind


def send(fd, kind, payload=b""):
    os.write(fd, b"%s %d\n" % (kind.encode("ascii"), len(payload)))
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


def load_function(code_dir, module_name, function_name):
    sys.path.insert(0, code_dir)
    os.chdir(code_dir)
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as error:
        traceback.print_exc()
        raise CallFailure("error", described(error))
    function = getattr(module, function_name, None)
    if not callable(function):
        raise CallFailure("missing")
    return function


def import_pandas():
    """
    pandas, before the submission's module, as the original wrapper imports it. Python's cyclic collector is paused
    meanwhile: it would walk the growing heap of pandas' modules over and over, about a tenth of the import's CPU. What
    the import made is then frozen, so that no collection in the submission's call walks it again. The submission's
    own import runs with the collector as Python leaves it.
    """
    gc.disable()
    try:
        import pandas
    except Exception as error:
        raise CallFailure("error", described(error))
    finally:
        gc.freeze()
        gc.enable()
    return pandas


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
        raise CallFailure("error", "the data file cannot be read with the submission's pandas: %s" % described(error))
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


def called(function, args, keywords):
    try:
        return function(*args, **keywords)
    except (Exception, SystemExit) as error:
        traceback.print_exc()
        raise CallFailure("error", described(error))


def output_csv(pd, result):
    """Tuples and scalars become one row with columns 0..k-1; anything else a frame of the value (contract §6)."""
    try:
        if isinstance(result, tuple):
            frame = pd.DataFrame([result])
        elif pd.api.types.is_scalar(result):
            frame = pd.DataFrame([(result,)])
        else:
            frame = pd.DataFrame(result)
        return frame.to_csv(header=True).encode("utf-8")
    except Exception as error:
        raise CallFailure("error", "the function's return value cannot be written as a table: %s" % described(error))


def call(module_name, function_name, data_path, kwargs_text, code_dir, go_fd, frames_fd):
    try:
        pd = import_pandas()
        function = load_function(code_dir, module_name, function_name)
        parameters = signature_of(function)
        send(frames_fd, "ready", json.dumps(list(parameters or [])).encode("utf-8"))
        # The data is read after the go, inside the timed span: a call cannot be prepared before it is timed.
        if os.read(go_fd, 1) != GO:
            return 1
        kwargs = [(name, value) for name, value in json.loads(kwargs_text)]
        positional, keywords = call_arguments(parameters, read_series(pd, data_path), kwargs)
        output = output_csv(pd, called(function, positional, keywords))
    except CallFailure as failure:
        send(frames_fd, failure.kind, str(failure).encode("utf-8", "replace"))
        return 1
    sys.stdout.flush()
    sys.stderr.flush()
    send(frames_fd, "result", output)
    return 0


def main(argv):
    options = dict(zip(argv[::2], argv[1::2]))
    return call(options["--module"], options["--function"], options["--data"], options["--kwargs"],
                options["--code-dir"], int(options["--go-fd"]), int(options["--frames-fd"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
