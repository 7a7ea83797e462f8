"""Runs a PV Validation Hub submission's function on one data file, inside the submission's container.

    /opt/pvhub/python/bin/python -I -S /opt/pvhub/pvhub_wrapper.py --module submission_wrapper --function NAME
        --data /data/FILE.csv --out /results --kwargs '[["latitude", 39.7], ["data_sampling_frequency", null]]'
        --time-limit SECONDS [--code-dir DIR] [--python PYTHON] [--go-on-stdin --wait-limit SECONDS]

Two processes. This command is the supervisor, the container's PID 1: it runs on an interpreter that the
submission's requirements cannot change, with no site hooks (-I -S), and never runs the submission's code. It starts
the call in a child process on the image's own python, times it with its own clock, ends everything at the time
limit, and alone writes <out>/output.csv (the return value, in the original Hub wrapper's shape) and
<out>/status.json, which the worker reads instead of guessing from the exit status. It writes them once the child and
every process the child started are gone, so nothing the submission does can change them afterwards.

The child is pvhub_call.py, beside this file: a script of its own, so that neither process imports the other's
modules (each file's fresh container starts both interpreters). It says what happened over a pipe, in frames
"<kind> <length>\\n<payload>": `ready` (the function's parameter names, as JSON), then, after the supervisor's go,
`result` (the output CSV); or `missing` (no such function) or `error` (a message) at any point. Frames choose no Hub
code: the supervisor does, and whatever the child claims, its failure is the submission's. Runs on Python 3.9+ on
Linux; the call needs pandas 1.x or 2.x.

With --go-on-stdin the container is started ahead of its turn, before its data file is in place: the call warms up
(the interpreter, pandas, the submission's imports) to its `ready`, and then the supervisor waits for a line `go` on
its own stdin, which the worker writes once the file is there. Only then is the data file checked and read. The
wait is not the submission's time: the time limit covers its warm-up and its call, and the deadline moves by the
wait. A go that does not come within --wait-limit seconds, or a stdin that closes first (the worker is gone), ends
the run as the worker's fault (wr_500).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import select
import signal
import sys
import time

CALL_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pvhub_call.py")
OUTPUT_FILE = "output.csv"
STATUS_FILE = "status.json"
GO = b"g"
# The child's frames: small ones are held in memory, a result goes straight to a file nobody else can open.
HEADER_MAX_BYTES = 64
SMALL_FRAME_MAX_BYTES = 64 * 1024
READ_BYTES = 1024 * 1024
MESSAGE_MAX_CHARS = 2000
GO_LINE = b"go"
GO_LINE_MAX_BYTES = 16
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def described(error):
    return "%s: %s" % (type(error).__name__, error)


def parse_kwargs(text):
    """The task's kwargs as (name, value) pairs; the Hub passes numbers as floats (contract §5), strings stay."""
    pairs = json.loads(text)
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
        raise ValueError("expected a list of [name, value] pairs")
    return [(name, float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v) for name, v in pairs]


class Verdict(Exception):
    """Ends the supervision with a Hub code; becomes status.json."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class TimeLimit(Exception):
    pass


class Ended(Exception):
    """The child ended, or closed its end of the pipe, without a result."""


class Broken(Exception):
    """The child's frames are not the protocol's."""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--module", required=True)
    parser.add_argument("--function", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--kwargs", default="[]", help="JSON list of [name, value] pairs, value number|string|null")
    parser.add_argument("--time-limit", required=True, type=float, help="seconds from this start until every process of the call is ended")
    parser.add_argument("--code-dir", default="/app/submission")
    parser.add_argument("--python", default="python", help="the submission's interpreter: the image's own")
    parser.add_argument("--go-on-stdin", action="store_true", help="warm up, then wait for a line 'go' on stdin before the data is read")
    parser.add_argument("--wait-limit", type=float, default=0.0, help="with --go-on-stdin: seconds the warm call may wait for its go")
    args = parser.parse_args(argv)
    if args.go_on_stdin and not args.wait_limit > 0:
        parser.error("--go-on-stdin needs a positive --wait-limit")
    # Resolved now: the call runs with the submission's folder as its working directory.
    args.data, args.out, args.code_dir = (os.path.abspath(p) for p in (args.data, args.out, args.code_dir))
    return args


def protect_self():
    """
    Non-dumpable: a process of the same uid can neither ptrace this one nor open its /proc files (memory, fds).
    Subreaper: orphans of the call become its children, so it can end them (as PID 1 they are anyway). SIGINT goes
    back to its default, which as PID 1 means signals from inside the container are dropped.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for option, value in ((PR_SET_DUMPABLE, 0), (PR_SET_CHILD_SUBREAPER, 1)):
        if libc.prctl(ctypes.c_int(option), ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
            raise Verdict("wr_500", "the wrapper cannot protect itself: prctl %d: %s" % (option, os.strerror(ctypes.get_errno())))
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def check_data(path):
    """The data file as the worker staged it; what the submission's pandas makes of it is the call's business."""
    try:
        with open(path, "rb") as source:
            if not source.read(1):
                raise Verdict("wr_10", "the data file %s is empty" % os.path.basename(path))
    except OSError as error:
        raise Verdict("wr_10", "the data file cannot be read: %s" % described(error))


def read_go(wait_limit):
    """The worker's go: one line on stdin, within the wait limit. Nothing else is ever read from stdin."""
    deadline = time.monotonic() + wait_limit
    line = b""
    while b"\n" not in line:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([0], [], [], remaining)[0]:
            raise Verdict("wr_500", "the worker did not start the file within %g s of its warm-up" % wait_limit)
        chunk = os.read(0, GO_LINE_MAX_BYTES)
        if not chunk:
            raise Verdict("wr_500", "the worker left before starting the file")
        line += chunk
        if len(line) > GO_LINE_MAX_BYTES:
            break
    if line.partition(b"\n")[0] != GO_LINE:
        raise Verdict("wr_500", "the worker's go is malformed")


def await_turn(args, frames):
    """Warm: the call is ready; the data file arrives with the go. The deadline moves by the wait."""
    waited_from = time.monotonic()
    read_go(args.wait_limit)
    frames.deadline += time.monotonic() - waited_from
    check_data(args.data)


def children_of(parent):
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as stat:
                # The name in parentheses may hold anything; the fields after the last ")" are numbers.
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if len(fields) > 1 and int(fields[1]) == parent:
            found.append(int(name))
    return found


def end_every_process():
    """Kills the call and everything it started (orphans are this process's children) and waits until none is left."""
    me = os.getpid()
    while True:
        for pid in children_of(me):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def how_it_ended(status):
    code = os.waitstatus_to_exitcode(status)
    return "was killed by signal %d" % -code if code < 0 else "exited with status %d" % code


class Frames:
    """The child's pipe, read against the deadline; the child's exit ends the reading."""

    def __init__(self, fd, pid, deadline):
        self.fd = fd
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.deadline = deadline
        self.pending = b""

    def fill(self):
        remaining = self.deadline - time.monotonic()
        ready = select.select([self.fd, self.pidfd], [], [], max(remaining, 0))[0] if remaining > 0 else []
        if not ready:
            raise TimeLimit()
        if self.fd in ready:
            chunk = os.read(self.fd, READ_BYTES)
            if chunk:
                self.pending += chunk
                return
        # Exited, or closed the pipe: nothing more can come.
        if select.select([self.pidfd], [], [], max(self.deadline - time.monotonic(), 0))[0]:
            raise Ended("the submission's process %s before returning a result" % how_it_ended(os.waitpid(self.pid, 0)[1]))
        raise TimeLimit()

    def header(self):
        # The limit holds wherever the newline is, also when it came in the same read as the bytes before it.
        while b"\n" not in self.pending[:HEADER_MAX_BYTES + 1]:
            if len(self.pending) > HEADER_MAX_BYTES:
                raise Broken("a frame header is too long")
            self.fill()
        line, _, self.pending = self.pending.partition(b"\n")
        kind, _, size = line.decode("ascii", "replace").partition(" ")
        if not size.isdigit():
            raise Broken("a frame header is malformed")
        return kind, int(size)

    def payload(self, size, sink):
        while size > 0:
            if not self.pending:
                self.fill()
            piece, self.pending = self.pending[:size], self.pending[size:]
            sink(piece)
            size -= len(piece)

    def small(self, size):
        if size > SMALL_FRAME_MAX_BYTES:
            raise Broken("a frame is too long")
        pieces = []
        self.payload(size, pieces.append)
        return b"".join(pieces).decode("utf-8", "replace")


def failure_of(args, kind, frames, size):
    if kind == "missing":
        return Verdict("op_6", "the submission's %s module defines no function %s" % (args.module, args.function))
    if kind == "error":
        return Verdict("sb_500", frames.small(size)[:MESSAGE_MAX_CHARS])
    return Broken("a %r frame out of turn" % kind[:20])


def converse(args, frames, go_fd, result_file):
    """The child's report, timed from the go to the last byte of its result on this process's clock."""
    kind, size = frames.header()
    if kind != "ready":
        raise failure_of(args, kind, frames, size)
    try:
        parameters = json.loads(frames.small(size))
        if not isinstance(parameters, list) or not all(isinstance(name, str) for name in parameters):
            raise ValueError("not a list of names")
    except ValueError as error:
        raise Broken("the parameter names are malformed: %s" % error)
    if args.go_on_stdin:
        await_turn(args, frames)
    started = time.monotonic()
    try:
        os.write(go_fd, GO)
    except BrokenPipeError:
        pass
    kind, size = frames.header()
    if kind != "result":
        raise failure_of(args, kind, frames, size)
    try:
        frames.payload(size, result_file.write)
    except OSError as error:
        raise Verdict("sb_500", "the function's result cannot be kept: %s" % described(error))
    return {"ok": True, "execution_time": time.monotonic() - started, "function_parameters": parameters}


def inherited_by_exec_only(kept):
    """Makes every fd of this process close-on-exec but stdio and `kept`: Python's own are, and so now is any it was given."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            os.set_inheritable(fd, fd <= 2 or fd in kept)
        except OSError:
            pass  # the listing's own, closed by now


def start_call(args, kwargs, go_read, frames_write):
    """
    The call's process, on the image's python, in the submission's folder. Only what the call needs crosses: the two
    pipe ends, the image's environment, stdin from /dev/null; the signals Python ignores are back to their defaults,
    as the subprocess module leaves them. That module is not used: its import is about a third of this process's.
    """
    command = [args.python, CALL_SCRIPT, "--module", args.module, "--function", args.function, "--data", args.data,
               "--kwargs", json.dumps(kwargs), "--code-dir", args.code_dir,
               "--go-fd", str(go_read), "--frames-fd", str(frames_write)]
    inherited_by_exec_only((go_read, frames_write))
    # Every path this process uses is absolute (parse_args), so its own folder may be the call's.
    os.chdir(args.code_dir)
    stdin = (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
    return os.posix_spawnp(command[0], command, os.environ, file_actions=[stdin], setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))


def supervise(args, kwargs, deadline, result_file):
    go_read, go_write = os.pipe()
    frames_read, frames_write = os.pipe()
    pid = start_call(args, kwargs, go_read, frames_write)
    os.close(go_read)
    os.close(frames_write)
    try:
        return converse(args, Frames(frames_read, pid, deadline), go_write, result_file)
    except TimeLimit:
        raise Verdict("sb_1", "exceeded the time limit of %g s" % args.time_limit)
    except Ended as error:
        raise Verdict("sb_500", str(error))
    except Broken as error:
        raise Verdict("sb_500", "the submission's process broke the wrapper's protocol: %s" % error)
    finally:
        end_every_process()


def clear(out, name):
    """Moves whatever is at out/name aside, unopened: the supervisor's files are always made afresh."""
    path = os.path.join(out, name)
    if os.path.lexists(path):
        aside = os.path.join(out, ".left-by-submission-%s" % os.urandom(8).hex())
        os.mkdir(aside, 0o700)
        os.rename(path, os.path.join(aside, name))


def unlinked_file(directory):
    """
    A file with no name (O_TMPFILE: the worker's results volume is a tmpfs), so no other process can open it; its fd is
    close-on-exec, so the call's processes do not inherit it either.
    """
    return os.fdopen(os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600), "w+b")


def create(out, name):
    return os.fdopen(os.open(os.path.join(out, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644), "wb")


def main(argv):
    args = parse_args(argv)
    deadline = time.monotonic() + args.time_limit
    with unlinked_file(args.out) as result_file:
        try:
            try:
                kwargs = parse_kwargs(args.kwargs)
            except (TypeError, ValueError) as error:
                raise Verdict("wr_500", "the worker passed malformed --kwargs (%s)" % described(error))
            if not args.go_on_stdin:
                check_data(args.data)
            protect_self()
            report = supervise(args, kwargs, deadline, result_file)
        except Verdict as verdict:
            report = {"ok": False, "code": verdict.code, "message": str(verdict)}
            print("pvhub: %s: %s" % (verdict.code, verdict), file=sys.stderr, flush=True)
        for name in (OUTPUT_FILE, STATUS_FILE):
            clear(args.out, name)
        if report["ok"]:
            result_file.seek(0)
            with create(args.out, OUTPUT_FILE) as sink:
                while True:
                    chunk = result_file.read(READ_BYTES)
                    if not chunk:
                        break
                    sink.write(chunk)
    with create(args.out, STATUS_FILE) as sink:
        sink.write(json.dumps(report).encode("utf-8"))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
