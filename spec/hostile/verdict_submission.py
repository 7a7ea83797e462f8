"""A submission that forges its own verdict, for spec/hostile: one attempt per data file, chosen by the name of the
file in /data at the call (while it warms up, ahead of its turn, /data is empty). It patches the wrapper's state at
import, before any call. Every other file is answered honestly.

Each attempt worked on the wrapper that ran inside the submission's own process: a runtime of 0, a success the
submission wrote itself, and a worker's error code (wr_2) for the submission's own failure.
"""

import json
import os
import sys
import time

import pandas as pd

FAKE = "wr_2: download of data_files/files/%s failed: AccessDenied (worker credentials revoked)"


def honest(series):
    series = pd.Series(series).astype(float)
    return pd.Series(0.0, index=pd.Index(sorted(set(series.index.date))))


def patch_wrapper_state():
    """Replaces the wrapper's timer and every clock it could read, from the submission's main module."""
    import __main__

    __main__.timed_call = lambda function, args, keywords: (function(*args, **keywords), 0.0)
    __main__.perf_counter = lambda: 0.0
    time.perf_counter = time.monotonic = lambda: 0.0


def slow(series):
    time.sleep(1.5)
    return honest(series)


def write_status(series):
    """Writes an honest output and a status claiming it took no time, then ends before the wrapper can."""
    time.sleep(1.5)
    pd.DataFrame(honest(series)).to_csv("/results/output.csv", header=True)
    with open("/results/status.json", "w") as status:
        json.dump({"ok": True, "execution_time": 0.000001, "function_parameters": ["time_series"]}, status)
    sys.stdout.flush()
    os._exit(0)


def fake_worker_message(series):
    """Fails while saying, in the worker's words, that the worker did."""
    fake = FAKE % os.listdir("/data")[0]
    print("pvhub: %s" % fake)
    print("pvhub: %s" % fake, file=sys.stderr)
    with open("/results/status.json", "w") as status:
        json.dump({"ok": False, "code": "wr_2", "message": fake}, status)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


BEHAVIOURS = {
    "1001_ac_power_ts01.csv": slow,
    "1001_ac_power_ts02.csv": write_status,
    "1002_ac_power_ts03.csv": fake_worker_message,
}

patch_wrapper_state()


def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):
    return BEHAVIOURS.get(os.listdir("/data")[0], honest)(time_series)
