"""A hostile submission for spec/hostile: one behaviour per data file, chosen by the file's first timestamp.

Probes that test a wall raise "PROBE-OK <what>" when the wall held and "PROBE-BREACH <what>" when it did not, so the
spec reads the verdict from the failure message. Files not listed here are answered honestly, to prove they are
still scored.
"""

import os
import socket
import sys
import time

import pandas as pd

def honest(series):
    series = pd.Series(series).astype(float)
    days = pd.Index(series.index.date)
    return pd.Series(0.0, index=pd.Index(sorted(set(days))))


def fork_bomb(series):
    children = 0
    try:
        while True:
            pid = os.fork()
            if pid == 0:
                try:
                    while True:
                        try:
                            os.fork()
                        except OSError:
                            time.sleep(0.05)
                finally:
                    os._exit(0)
            children += 1
    except OSError as error:
        raise RuntimeError("PROBE-OK fork refused after %d children: %s" % (children, error))


def memory_bomb(series):
    hoard = []
    while True:
        hoard.append(b"\x01" * (32 * 1024 * 1024))


def tmp_filler(series):
    written = 0
    chunk = b"\x02" * (1024 * 1024)
    try:
        with open("/tmp/fill", "wb") as sink:
            while written < 4 * 1024**3:
                sink.write(chunk)
                sink.flush()
                written += len(chunk)
    except OSError as error:
        raise RuntimeError("PROBE-OK /tmp full after %d MiB: %s" % (written // 2**20, error))
    raise RuntimeError("PROBE-BREACH wrote 4 GiB to /tmp")


def results_filler(series):
    # Bounded at 3 GiB so a breach cannot fill the test machine's disk.
    written = 0
    chunk = b"\x03" * (1024 * 1024)
    index = 0
    try:
        while written < 3 * 1024**3:
            with open("/results/fill-%d" % index, "wb") as sink:
                for _ in range(256):
                    sink.write(chunk)
                    written += len(chunk)
            index += 1
    except OSError as error:
        raise RuntimeError("PROBE-OK /results refused after %d MiB: %s" % (written // 2**20, error))
    raise RuntimeError("PROBE-BREACH wrote %d MiB to /results" % (written // 2**20))


def endless(series):
    while True:
        pass


def network(series):
    reached = []
    for host, port in (("1.1.1.1", 53), ("8.8.8.8", 443), ("172.17.0.1", 2375), ("172.17.0.1", 80)):
        try:
            socket.create_connection((host, port), timeout=2).close()
            reached.append("%s:%d" % (host, port))
        except OSError:
            pass
    try:
        socket.getaddrinfo("pypi.org", 443)
        reached.append("dns")
    except OSError:
        pass
    for path in ("/var/run/docker.sock", "/run/docker.sock"):
        if os.path.exists(path):
            reached.append(path)
    if reached:
        raise RuntimeError("PROBE-BREACH network reached: %s" % reached)
    raise RuntimeError("PROBE-OK no network")


def other_files(series):
    own = os.listdir("/data")
    found = []
    for root, dirs, files in os.walk("/"):
        if root in ("/proc", "/sys", "/dev") or root.startswith(("/proc/", "/sys/", "/dev/")):
            dirs[:] = []
            continue
        for name in dirs + files:
            if "ac_power_ts" in name or name in ("validation_data", "file_metadata.csv", "system_metadata.csv", "config.json"):
                if os.path.join(root, name) not in ("/data/" + own[0],):
                    found.append(os.path.join(root, name))
    if len(own) != 1 or found:
        raise RuntimeError("PROBE-BREACH /data holds %s; also found %s" % (own, found[:10]))
    raise RuntimeError("PROBE-OK only %s is visible" % own[0])


def write_outside(series):
    written = []
    targets = [
        "/app/submission/submission_wrapper.py",
        "/app/submission/new.py",
        "/opt/pvhub/pvhub_wrapper.py",
        "/opt/pvhub/pvhub_call.py",
        "/data/new.csv",
        "/data/" + os.listdir("/data")[0],
        "/etc/passwd",
        "/usr/local/lib/evil.py",
        "/new-file",
        "/results/../escaped",
        "/proc/sys/kernel/core_pattern",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/memory.max",
    ]
    for target in targets:
        try:
            with open(target, "a") as sink:
                sink.write("hostile\n")
            written.append(target)
        except OSError:
            pass
    if written:
        raise RuntimeError("PROBE-BREACH wrote %s" % written)
    raise RuntimeError("PROBE-OK no write outside /results and /tmp")


def environment(series):
    leaks = [k for k, v in os.environ.items() if k.startswith(("AWS_", "PVHUB_")) or "canary" in v.lower()]
    for pid in ("self", "1"):
        try:
            with open("/proc/%s/environ" % pid, "rb") as source:
                text = source.read().decode("utf8", "replace")
            if "AWS_SECRET" in text or "canary" in text.lower():
                leaks.append("/proc/%s/environ" % pid)
        except OSError:
            pass
    if leaks:
        raise RuntimeError("PROBE-BREACH environment leaks %s" % leaks)
    raise RuntimeError("PROBE-OK environment holds only %s" % sorted(os.environ))


def flood(series):
    line = "x" * 65535 + "\n"
    until = time.monotonic() + 8
    while time.monotonic() < until:
        for _ in range(100):
            sys.stdout.write(line)
            sys.stderr.write(line)
    return honest(series)


def privileges(series):
    gained = []
    attempts = {
        "setuid": lambda: os.setuid(0),
        "setgid": lambda: os.setgid(0),
        "chroot": lambda: os.chroot("/tmp"),
        "raw socket": lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
        "mknod": lambda: os.mknod("/tmp/dev-null", 0o20666, os.makedev(1, 3)),
        "chown": lambda: os.chown("/results", 0, 0),
        "shadow": lambda: open("/etc/shadow").read(),
        "sudo": lambda: os.execv("/usr/bin/sudo", ["sudo", "true"]),
    }
    for name, attempt in attempts.items():
        try:
            attempt()
            gained.append(name)
        except (OSError, PermissionError):
            pass
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    if fields["CapEff"].strip().strip("0") or fields["CapPrm"].strip().strip("0") or fields["CapBnd"].strip().strip("0"):
        gained.append("capabilities %s" % fields["CapBnd"].strip())
    if fields["NoNewPrivs"].strip() != "1":
        gained.append("new privileges allowed")
    if os.getuid() == 0 or os.geteuid() == 0:
        gained.append("root")
    if gained:
        raise RuntimeError("PROBE-BREACH %s" % gained)
    raise RuntimeError("PROBE-OK uid %d, no capabilities, no new privileges" % os.getuid())


def planted_links(series):
    # Claims success itself and leaves links where the worker reads: were they followed on the host, the scorer
    # would read /dev/zero forever or the worker's own files.
    import json
    os.symlink("/dev/zero", "/results/output.csv")
    with open("/results/status.json", "w") as status:
        json.dump({"ok": True, "execution_time": 0.000001, "function_parameters": ["time_series"]}, status)
    sys.stdout.flush()
    os._exit(0)


BEHAVIOURS = {
    "2015-02": fork_bomb,
    "2016-06": memory_bomb,
    "2015-05": tmp_filler,
    "2017-09": results_filler,
    "2016-03": endless,
    "2018-06": network,
    "2016-04": write_outside,
    "2018-08": environment,
    "2017-01": flood,
    "2019-03": privileges,
    "2018-10": other_files,
    "2019-04": planted_links,
}


def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):
    start = pd.Timestamp(time_series.index[0]).strftime("%Y-%m")
    return BEHAVIOURS.get(start, honest)(time_series)
