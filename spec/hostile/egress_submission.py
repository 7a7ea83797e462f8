"""A submission for spec/hostile/egress.spec.ts: it tries every way out of its job's network, on one data file.

The spec writes the addresses it made into the constants below. Each probe prints "PROBE <name> OK <detail>" when
the wall held (or the listed host answered) and "PROBE <name> BREACH <detail>" when it did not; any breach fails the
file. On the file named CALLS_UNLISTED the submission instead calls a host its task does not list and lets the error
rise, as a participant's code would. Every other file is answered honestly.
"""

import os
import socket
import urllib.error
import urllib.request

import pandas as pd

WORLD_ADDRESS = "@WORLD_ADDRESS@"
ENGINE_ADDRESS = "@ENGINE_ADDRESS@"
HOST_PORT = int("@HOST_PORT@")
LISTED = "api.listed.test:8080"
UNLISTED = "api.unlisted.test:8080"
PROBES_FILE = "1001_ac_power_ts01.csv"
CALLS_UNLISTED = "1001_ac_power_ts02.csv"

PROXY = os.environ.get("HTTPS_PROXY", "")


def proxy_address():
    host, port = PROXY.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    return host, int(port)


def connect_via_proxy(target):
    """A CONNECT tunnel through the proxy, then a plain GET inside it: the proxy's status line and the answer."""
    with socket.create_connection(proxy_address(), timeout=10) as tunnel:
        tunnel.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
        status = tunnel.recv(4096).decode("latin-1").split("\r\n", 1)[0]
        if " 200 " not in status:
            return status, ""
        tunnel.sendall(("GET /tunnel HTTP/1.0\r\nHost: %s\r\n\r\n" % target).encode())
        answer = b""
        while True:
            chunk = tunnel.recv(4096)
            if not chunk:
                break
            answer += chunk
        return status, answer.decode("latin-1")


def get_via_proxy(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def direct(host, port):
    """A connection without the proxy: it must not open."""
    try:
        socket.create_connection((host, port), timeout=3).close()
        return "connected"
    except OSError as error:
        return "refused (%s)" % error


def lookup(name):
    try:
        return "resolved to %s" % sorted({info[4][0] for info in socket.getaddrinfo(name, 80)})
    except socket.gaierror as error:
        return "failed (%s)" % error


def probes():
    results = []

    def probe(name, held, detail):
        results.append((name, held, detail))
        print("PROBE %s %s %s" % (name, "OK" if held else "BREACH", detail), flush=True)

    status, body = get_via_proxy("http://%s/hello" % LISTED)
    probe("listed-http", status == 200 and "world host" in body, "%s %s" % (status, body.strip()))
    status, answer = connect_via_proxy(LISTED)
    probe("listed-connect", " 200 " in status and "world host" in answer, "%s | %s" % (status, answer.strip().split("\r\n")[-1]))
    proxy_host, proxy_port = proxy_address()
    refused = {
        "unlisted-connect": UNLISTED,
        "unlisted-address-connect": "%s:8080" % WORLD_ADDRESS,
        "metadata-connect": "169.254.169.254:80",
        "loopback-name-connect": "localhost:%d" % HOST_PORT,
        "loopback-connect": "127.0.0.1:%d" % HOST_PORT,
        "engine-address-connect": "%s:%d" % (ENGINE_ADDRESS, HOST_PORT),
        "proxy-itself-connect": "%s:%d" % (proxy_host, proxy_port),
    }
    for name, target in refused.items():
        status, _ = connect_via_proxy(target)
        probe(name, " 403 " in status, "%s -> %s" % (target, status))
    status, _ = get_via_proxy("http://%s/hello" % UNLISTED)
    probe("unlisted-http", status == 403, "%s" % status)
    status, _ = get_via_proxy("http://%s:%d/squid-internal-mgr/info" % (proxy_host, proxy_port))
    probe("proxy-admin", status == 403, "%s" % status)
    for name, (host, port) in {
        "direct-world": (WORLD_ADDRESS, 8080),
        "direct-metadata": ("169.254.169.254", 80),
        "direct-engine": (ENGINE_ADDRESS, HOST_PORT),
    }.items():
        outcome = direct(host, port)
        probe(name, outcome != "connected", "%s:%d %s" % (host, port, outcome))
    for name in ("api.listed.test", "example.com", "localhost.localdomain"):
        outcome = lookup(name)
        probe("dns-" + name, outcome.startswith("failed"), outcome)
    # Docker's own resolver would name the proxy by its address; the run's resolv.conf names no resolver at all.
    try:
        probe("dns-reverse-proxy", False, "resolved %s" % socket.gethostbyaddr(proxy_host)[0])
    except OSError as error:
        probe("dns-reverse-proxy", True, "failed (%s)" % error)
    return results


def honest(series):
    days = sorted(set(pd.Series(series).index.date))
    return pd.Series(0.0, index=pd.Index(days))


def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):
    own = os.listdir("/data")[0]
    if own == PROBES_FILE:
        breaches = [name for name, held, _ in probes() if not held]
        if breaches:
            raise RuntimeError("PROBE-BREACH %s" % breaches)
    elif own == CALLS_UNLISTED:
        urllib.request.urlopen("http://%s/irradiance" % UNLISTED, timeout=10)
    return honest(time_series)
