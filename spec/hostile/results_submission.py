"""A submission for spec/hostile that attacks the worker through what it leaves in /results: one behaviour per data
file, chosen by the file's first timestamp.

Probes raise "PROBE-OK <what>" when the wall held and "PROBE-BREACH <what>" when it did not. Files not listed are
answered honestly, to prove they are still scored. Where a behaviour needs the worker to believe the run succeeded,
it writes status.json itself and ends the process, as the wrapper would after a success.
"""

import json
import os
import shutil
import sys

import pandas as pd

def honest(series):
    days = pd.Index(pd.Series(series).index.date)
    return pd.Series(0.0, index=pd.Index(sorted(set(days))))


def claim_success():
    with open("/results/status.json", "w") as status:
        json.dump({"ok": True, "execution_time": 0.5, "function_parameters": ["time_series"]}, status)
    sys.stdout.flush()
    os._exit(0)


def setuid_output(series):
    # The wrapper writes into the file that is already there, so the output keeps these bits on the container's side.
    with open("/results/output.csv", "w"):
        pass
    os.chmod("/results/output.csv", 0o6755)
    return honest(series)


def setuid_program(series):
    shutil.copy(sys.executable, "/results/output.csv")
    os.chmod("/results/output.csv", 0o4755)
    shutil.copy(sys.executable, "/results/python")
    os.chmod("/results/python", 0o4755)
    claim_success()


def mount_options(series):
    with open("/proc/self/mounts") as mounts:
        options = [line.split()[3].split(",") for line in mounts if line.split()[1] == "/results"]
    missing = [flag for flag in ("nosuid", "nodev", "noexec") if not options or flag not in options[-1]]
    if missing:
        raise RuntimeError("PROBE-BREACH /results is mounted without %s" % ", ".join(missing))
    raise RuntimeError("PROBE-OK /results is mounted nosuid, nodev, noexec")


def nest(depth):
    os.chdir("/results")
    for _ in range(depth):
        os.mkdir("d")
        os.chdir("d")


def deep_fill(series):
    # Past PATH_MAX from /results, then on until the cap refuses; bounded at 512 MiB should nothing refuse.
    nest(2100)
    written = 0
    try:
        while written < 512 * 1024 * 1024:
            with open("fill-%d" % written, "wb") as sink:
                sink.write(b"\x04" * (1024 * 1024))
            written += 1024 * 1024
    except OSError:
        pass
    return honest(series)


def deep_tree(series):
    nest(2100)
    with open("leaf", "w") as leaf:
        leaf.write("under more than PATH_MAX of folders")
    return honest(series)


def output_folder(series):
    os.mkdir("/results/output.csv")
    with open("/results/output.csv/inside", "w") as inside:
        inside.write("0,0\n")
    claim_success()


def output_fifo(series):
    os.mkfifo("/results/output.csv")
    claim_success()


def quoted_field(series):
    # One value of 32 MB, in quotes over 16 million lines: under the results cap, and no line is long.
    days = honest(series)
    values = pd.Series(0.0, index=days.index, dtype=object)
    values.iloc[0] = "x\n" * (16 * 1024 * 1024)
    return values


def too_many_rows(series):
    return pd.Series(0.0, index=pd.RangeIndex(len(honest(series)) * 20))


BEHAVIOURS = {
    "2015-02": setuid_output,
    "2016-06": setuid_program,
    "2015-05": mount_options,
    "2017-09": deep_fill,
    "2016-03": deep_tree,
    "2018-06": output_folder,
    "2016-04": output_fifo,
    "2018-08": quoted_field,
    "2017-01": too_many_rows,
}


def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):
    start = pd.Timestamp(time_series.index[0]).strftime("%Y-%m")
    return BEHAVIOURS.get(start, honest)(time_series)
