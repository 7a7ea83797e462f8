#!/usr/bin/env python3
"""Generates the example tasks and submissions of examples/ in the PV Validation Hub's task format.

    python3 examples/generate.py            # rewrite examples/tasks and examples/submissions in place
    python3 examples/generate.py --out DIR  # write the same tree under DIR (the spec compares the two)

Standard library only, so it runs with any Python 3 before the project's environment exists. The output is
byte-for-byte the same on every run: every random number comes from a generator seeded by the file's name, zip
entries have a fixed time stamp and order and are stored uncompressed (deflate output differs between zlib builds),
and text is written with "\\n" line ends. Only files whose bytes change are rewritten, and files this script no
longer makes are removed, so re-running it leaves git with nothing to commit.
"""

import argparse
import hashlib
import io
import json
import math
import os
import random
import sys
import zipfile
from datetime import date, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
# The only folders this script owns; generate.py and README.md live beside them.
MANAGED = ("tasks", "submissions")
# Caches that tools leave beside the files (marimo writes a session next to the template it runs): not ours to
# remove, and git-ignored.
CACHES = ("__marimo__", "__pycache__")

# Shared by both tasks, as the Hub's system metadata is one table for all analyses. Offsets are fixed (standard
# time all year), as a logger without daylight saving writes them; a time shift is then its clock moving.
SYSTEMS = [
    # system_id, name, azimuth, tilt, elevation, latitude, longitude, utc offset h, climate, dc kW
    (1001, "Boulder CO rooftop", 183.0, 37.0, 1655, 40.015, -105.27, -7, "BSk", 5.2),
    (1002, "Sacramento CA carport", 201.0, 22.0, 9, 38.58, -121.49, -8, "Csa", 7.0),
    (1003, "Atlanta GA school", 158.0, 26.0, 320, 33.749, -84.388, -5, "Cfa", 4.1),
    (1004, "Phoenix AZ warehouse", 224.0, 13.0, 331, 33.448, -112.074, -7, "BWh", 9.8),
    (1005, "Chicago IL library", 137.0, 31.0, 181, 41.878, -87.63, -6, "Dfa", 6.3),
]
SYSTEM = {row[0]: row for row in SYSTEMS}

# Every file starts in standard time (shift 0): the reference is the clock's offset from standard time, and the
# example algorithm measures it against the file's first week.
# file_id, system_id, minutes, first day, days, [(from day, shift h), ...], on leaderboard, issue, subissue
TIME_SHIFT_FILES = [
    (1, 1001, 15, date(2015, 2, 1), 60, [(date(2015, 3, 8), 1)], True, "time shift", "DST spring forward"),
    (2, 1001, 5, date(2016, 6, 1), 30, [], True, "no time shift", "clean"),
    (3, 1002, 15, date(2015, 5, 1), 75, [], True, "no time shift", "clean"),
    (4, 1002, 15, date(2017, 9, 1), 75, [(date(2017, 11, 5), -1)], True, "time shift", "clock set back"),
    (5, 1003, 5, date(2016, 3, 1), 35, [(date(2016, 3, 13), 1)], True, "time shift", "DST spring forward"),
    (6, 1003, 15, date(2018, 6, 15), 45, [], False, "no time shift", "clean"),
    (7, 1004, 15, date(2016, 4, 1), 70, [(date(2016, 5, 1), 1), (date(2016, 5, 31), 0)], True, "time shift",
     "clock drift corrected"),
    (8, 1004, 5, date(2018, 8, 1), 30, [(date(2018, 8, 18), -1)], True, "time shift", "clock set back"),
    (9, 1005, 15, date(2017, 1, 15), 60, [], True, "no time shift", "clean"),
    (10, 1005, 15, date(2019, 3, 1), 50, [(date(2019, 3, 10), 1)], True, "time shift", "DST spring forward"),
    (11, 1005, 5, date(2019, 7, 1), 30, [], False, "no time shift", "clean"),
    (12, 1001, 15, date(2018, 10, 1), 60, [(date(2018, 11, 4), -1)], True, "time shift", "clock set back"),
    (13, 1003, 15, date(2019, 4, 1), 40, [], True, "no time shift", "clean"),
]

# file_id, system_id, minutes, first day, days, on leaderboard, issue, subissue
AZ_TILT_FILES = [
    (101, 1001, 15, date(2016, 5, 1), 30, True, "clear", "none"),
    (102, 1002, 15, date(2017, 6, 1), 30, True, "clear", "none"),
    (103, 1003, 15, date(2015, 8, 1), 30, True, "cloudy", "summer storms"),
    (104, 1004, 15, date(2018, 4, 1), 30, True, "clear", "none"),
    (105, 1005, 15, date(2016, 7, 1), 30, True, "clear", "none"),
    (106, 1001, 5, date(2019, 9, 1), 20, True, "clear", "none"),
    (107, 1004, 5, date(2017, 10, 1), 20, False, "clear", "none"),
    (108, 1005, 15, date(2018, 3, 15), 30, True, "cloudy", "spring overcast"),
]

TIME_SHIFT_CONFIG = {
    "category_name": "Time Shift Detection",
    "s3_bucket_folder_name": "time-shift-detection",
    "function_name": "detect_time_shifts",
    "comparison_type": "time_series",
    "display_metrics": {
        "mean_mean_absolute_error_time_series": "Mean Mean Absolute Error",
        "median_mean_absolute_error_time_series": "Median Mean Absolute Error",
    },
    "performance_metrics": ["runtime", "mean_absolute_error"],
    "metrics_operations": {"mean_absolute_error_time_series": ["mean", "median"], "runtime": ["mean"]},
    "allowable_kwargs": ["latitude", "longitude", "data_sampling_frequency"],
    "references_compare": ["time_series"],
    "public_results_table": "time-shift-public-metrics.json",
    "private_results_table": "time-shift-private-metrics.json",
    "private_results_columns": ["system_id", "file_name", "runtime", "data_requirements",
                                "mean_absolute_error_time_series", "data_sampling_frequency", "issue"],
}

AZ_TILT_METRICS = ["absolute_error_azimuth", "absolute_error_tilt", "error_azimuth", "error_tilt"]
AZ_TILT_CONFIG = {
    "category_name": "Azimuth and Tilt Estimation",
    "s3_bucket_folder_name": "az-tilt-estimation",
    "function_name": "estimate_az_tilt",
    "comparison_type": "scalar",
    "display_metrics": {
        "mean_absolute_error_azimuth": "Mean Absolute Error, Azimuth (deg)",
        "median_absolute_error_azimuth": "Median Absolute Error, Azimuth (deg)",
        "mean_absolute_error_tilt": "Mean Absolute Error, Tilt (deg)",
        "median_absolute_error_tilt": "Median Absolute Error, Tilt (deg)",
        "mean_error_azimuth": "Mean Error, Azimuth (deg)",
        "mean_error_tilt": "Mean Error, Tilt (deg)",
    },
    "performance_metrics": ["runtime", "absolute_error", "error"],
    "metrics_operations": {**{name: ["mean", "median"] for name in AZ_TILT_METRICS}, "runtime": ["mean"]},
    "allowable_kwargs": ["latitude", "longitude"],
    "references_compare": ["azimuth", "tilt"],
    "public_results_table": "az-tilt-public-metrics.json",
    "private_results_table": "az-tilt-private-metrics.json",
    "private_results_columns": ["system_id", "file_name", "runtime", "data_requirements", *AZ_TILT_METRICS,
                                "data_sampling_frequency", "issue"],
}


# ---------------------------------------------------------------------------------------------------------------
# Irradiance and power. Simple, but shaped by the sun and the array's orientation, so that time shifts and
# orientation can be recovered from the power alone.

def sun_vector(day_of_year, utc_hours, latitude, longitude):
    """Unit vector to the sun (east, north, up), NOAA's low-precision formulas."""
    gamma = 2 * math.pi / 365 * (day_of_year - 1 + (utc_hours - 12) / 24)
    eqtime = 229.18 * (0.000075 + 0.001868 * math.cos(gamma) - 0.032077 * math.sin(gamma)
                       - 0.014615 * math.cos(2 * gamma) - 0.040849 * math.sin(2 * gamma))
    decl = (0.006918 - 0.399912 * math.cos(gamma) + 0.070257 * math.sin(gamma) - 0.006758 * math.cos(2 * gamma)
            + 0.000907 * math.sin(2 * gamma) - 0.002697 * math.cos(3 * gamma) + 0.00148 * math.sin(3 * gamma))
    true_solar_minutes = utc_hours * 60 + eqtime + 4 * longitude
    hour_angle = math.radians(true_solar_minutes / 4 - 180)
    lat = math.radians(latitude)
    east = -math.cos(decl) * math.sin(hour_angle)
    north = math.sin(decl) * math.cos(lat) - math.cos(decl) * math.cos(hour_angle) * math.sin(lat)
    up = math.sin(decl) * math.sin(lat) + math.cos(decl) * math.cos(hour_angle) * math.cos(lat)
    return east, north, up


def clear_sky_poa(sun, azimuth, tilt):
    """Plane-of-array irradiance (W/m²): Meinel beam, isotropic sky diffuse, ground reflection."""
    east, north, up = sun
    if up <= 0.01:
        return 0.0
    zenith = math.degrees(math.acos(up))
    air_mass = 1 / (up + 0.50572 * (96.07995 - zenith) ** -1.6364)
    dni = 1353 * 0.7 ** (air_mass ** 0.678)
    dhi = 0.1 * dni
    ghi = dni * up + dhi
    beta, gamma = math.radians(tilt), math.radians(azimuth)
    cos_aoi = math.sin(beta) * math.sin(gamma) * east + math.sin(beta) * math.cos(gamma) * north + math.cos(beta) * up
    return dni * max(cos_aoi, 0.0) + dhi * (1 + math.cos(beta)) / 2 + 0.2 * ghi * (1 - math.cos(beta)) / 2


def cloud_knots(rng, cloudy):
    """Hourly cloud factors (0..1] for one day; clear, broken or overcast. `cloudy` makes bad days likelier."""
    draw = rng.random()
    clear_share, broken_share = (0.3, 0.75) if cloudy else (0.65, 0.9)
    if draw < clear_share:
        return [1.0 - 0.02 * rng.random() for _ in range(26)]
    if draw < broken_share:
        return [1.0 if rng.random() < 0.5 else 0.2 + 0.6 * rng.random() for _ in range(26)]
    return [0.15 + 0.2 * rng.random() for _ in range(26)]


def cloud_factor(knots, hours):
    hours = min(max(hours, 0.0), 24.999)
    low = int(hours)
    fraction = hours - low
    return knots[low] * (1 - fraction) + knots[low + 1] * fraction


def shift_on(day, shifts):
    current = 0
    for first_day, hours in shifts:
        if day >= first_day:
            current = hours
    return current


def number(value):
    """A float as pandas writes it (shortest repr), rounded to watts."""
    return repr(round(value, 3) + 0.0)


def power_csv(system_id, first_day, days, minutes, shifts, rng, cloudy=False):
    """Data CSV: clock-time labels in the system's fixed offset, AC kW. After a shift of s hours the logger's clock
    is s hours ahead, so the value labelled T was measured at T − s."""
    _, _, azimuth, tilt, _, latitude, longitude, offset, _, dc_capacity = SYSTEM[system_id]
    suffix = f"{'-' if offset < 0 else '+'}{abs(offset):02d}:00"
    lines = ["measured_on,ac_power"]
    for n in range(days):
        day = first_day + timedelta(days=n)
        shift = shift_on(day, shifts)
        knots = cloud_knots(rng, cloudy)
        day_of_year = day.timetuple().tm_yday
        for step in range(24 * 60 // minutes):
            clock = step * minutes
            local_hours = clock / 60 - shift
            poa = clear_sky_poa(sun_vector(day_of_year, local_hours - offset, latitude, longitude), azimuth, tilt)
            value = 0.0
            if poa > 0:
                value = dc_capacity * poa / 1000 * 0.86 * cloud_factor(knots, local_hours)
                value = max(value + rng.gauss(0, 0.004 * dc_capacity), 0.0)
            lines.append(f"{day.isoformat()} {clock // 60:02d}:{clock % 60:02d}:00{suffix},{number(value)}")
    return text(lines)


def text(lines):
    return ("\n".join(lines) + "\n").encode()


def csv_cell(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def table(header, rows):
    return text([",".join(header)] + [",".join(csv_cell(cell) for cell in row) for row in rows])


def system_metadata_csv():
    header = ["system_id", "name", "azimuth", "tilt", "elevation", "latitude", "longitude", "tracking",
              "climate_type", "dc_capacity"]
    rows = [(sid, name, az, tilt, elev, lat, lon, False, climate, dc)
            for sid, name, az, tilt, elev, lat, lon, _, climate, dc in SYSTEMS]
    return table(header, rows)


def timezone_of(system_id):
    # Etc/GMT+7 is UTC−7 all year (POSIX sign), which is what the fixed-offset data is in.
    return f"Etc/GMT{-SYSTEM[system_id][7]:+d}"


FILE_METADATA_HEADER = ["file_id", "system_id", "file_name", "timezone", "data_sampling_frequency", "issue",
                        "subissue", "file_hash", "include_on_leaderboard"]


def task_files(config, template, entries):
    """entries: (file_id, system_id, file_name, minutes, data bytes, reference bytes, leaderboard, issue, subissue)."""
    files = {
        "config.json": (json.dumps(config, indent=2) + "\n").encode(),
        "file_test_link.csv": table(["test_id", "file_id"], [(i, e[0]) for i, e in enumerate(entries)]),
        "system_metadata.csv": system_metadata_csv(),
        "template.py": template.encode(),
    }
    metadata = []
    for file_id, system_id, name, minutes, data, reference, leaderboard, issue, subissue in entries:
        files[f"data/{name}"] = data
        files[f"validation_data/{name}"] = reference
        metadata.append((file_id, system_id, name, timezone_of(system_id), minutes, issue, subissue,
                         hashlib.md5(data).hexdigest(), leaderboard))
    files["file_metadata.csv"] = table(FILE_METADATA_HEADER, metadata)
    return files


def time_shift_task():
    entries = []
    for file_id, system_id, minutes, first_day, days, shifts, leaderboard, issue, subissue in TIME_SHIFT_FILES:
        name = f"{system_id}_ac_power_ts{file_id:02d}.csv"
        rng = random.Random(f"time-shift-detection/{name}")
        data = power_csv(system_id, first_day, days, minutes, shifts, rng)
        day_list = [first_day + timedelta(days=n) for n in range(days)]
        # A pandas Series without a name, written with its date index: header ",0".
        reference = text([",0"] + [f"{day.isoformat()},{shift_on(day, shifts)}" for day in day_list])
        entries.append((file_id, system_id, name, minutes, data, reference, leaderboard, issue, subissue))
    return task_files(TIME_SHIFT_CONFIG, template_py("Time shift detection", ["mean_absolute_error_time_series"],
                                                     "hours"), entries)


def az_tilt_task():
    entries = []
    for file_id, system_id, minutes, first_day, days, leaderboard, issue, subissue in AZ_TILT_FILES:
        name = f"{system_id}_ac_power_az{file_id:03d}.csv"
        rng = random.Random(f"az-tilt-estimation/{name}")
        data = power_csv(system_id, first_day, days, minutes, [], rng, cloudy=issue == "cloudy")
        _, _, azimuth, tilt, *_ = SYSTEM[system_id]
        # main reads the references from system metadata; develop from this file's first row.
        reference = table(["azimuth", "tilt"], [(azimuth, tilt)])
        entries.append((file_id, system_id, name, minutes, data, reference, leaderboard, issue, subissue))
    return task_files(AZ_TILT_CONFIG, template_py("Azimuth and tilt estimation", AZ_TILT_METRICS, "degrees"), entries)


# ---------------------------------------------------------------------------------------------------------------
# The marimo report template. The worker runs
#   marimo export html template.py -o report.html --no-include-code -- --results_df=<row JSON> ...
# with one argument per file; marimo turns one argument into a string and repeated ones into a list.

TEMPLATE = '''import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import html
    import json

    import marimo as mo
    import pandas as pd

    return html, json, mo, pd


@app.cell
def _():
    TITLE = __TITLE__
    METRICS = __METRICS__
    UNIT = __UNIT__
    return METRICS, TITLE, UNIT


@app.cell
def _(METRICS, json, mo, pd):
    def results_from_cli_args():
        raw = mo.cli_args().to_dict().get("results_df", [])
        # One file arrives as a single string, several as a list.
        items = raw if isinstance(raw, list) else [raw]
        rows = [item if isinstance(item, dict) else json.loads(item) for item in items if item != ""]
        return pd.DataFrame.from_records(rows)

    results_df = results_from_cli_args()
    metrics = [name for name in METRICS if name in results_df.columns]
    for name in metrics + ["runtime"]:
        if name in results_df.columns:
            results_df[name] = pd.to_numeric(results_df[name], errors="coerce")
    return metrics, results_df


@app.cell
def _(TITLE, UNIT, metrics, mo, results_df):
    mo.md(
        f"# {TITLE}: private results\\n\\n"
        f"{len(results_df)} scored files; metrics in {UNIT}, runtime in seconds. "
        + ("" if metrics else "**No metric columns were passed to the report.**")
    )
    return


@app.cell
def _(metrics, mo, pd, results_df):
    def summary():
        columns = metrics + [name for name in ["runtime"] if name in results_df.columns]
        if results_df.empty or not columns:
            return mo.md("_No results._")
        stats = pd.DataFrame(
            {
                "metric": columns,
                "mean": [results_df[c].mean() for c in columns],
                "median": [results_df[c].median() for c in columns],
                "min": [results_df[c].min() for c in columns],
                "max": [results_df[c].max() for c in columns],
            }
        ).round(4)
        return mo.vstack([mo.md("## Summary"), mo.ui.table(stats, selection=None, label="")])

    summary()
    return


@app.cell
def _(UNIT, html, metrics, mo, results_df):
    def bar_chart(metric):
        """Horizontal bars, one per file, as inline SVG: no plotting package needed."""
        frame = results_df.dropna(subset=[metric]).sort_values(metric, key=lambda s: s.abs())
        if frame.empty:
            return mo.md(f"_No values of {metric}._")
        width, bar, label_width = 640, 18, 260
        largest = max(float(frame[metric].abs().max()), 1e-9)
        parts = []
        for i, (_, row) in enumerate(frame.iterrows()):
            value = float(row[metric])
            length = (width - label_width - 80) * abs(value) / largest
            y = i * (bar + 4)
            colour = "#c0392b" if value < 0 else "#2e86c1"
            parts.append(
                f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end" font-size="12">'
                f"{html.escape(str(row.get('file_name', i)))}</text>"
                f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar}" fill="{colour}"/>'
                f'<text x="{label_width + length + 4:.1f}" y="{y + 13}" font-size="12">{value:.3f}</text>'
            )
        height = len(frame) * (bar + 4)
        svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">{"".join(parts)}</svg>'
        return mo.vstack([mo.md(f"## {metric} per file ({UNIT})"), mo.Html(svg)])

    mo.vstack([bar_chart(metric) for metric in metrics]) if metrics else None
    return


@app.cell
def _(metrics, mo, results_df):
    def by_issue():
        if "issue" not in results_df.columns or not metrics:
            return None
        grouped = results_df.groupby("issue")[metrics].mean().round(4).reset_index()
        return mo.vstack([mo.md("## Mean by issue"), mo.ui.table(grouped, selection=None, label="")])

    by_issue()
    return


@app.cell
def _(mo, results_df):
    mo.vstack([mo.md("## All files"), mo.ui.table(results_df, selection=None, label="")]) if not results_df.empty else None
    return


if __name__ == "__main__":
    app.run()
'''


def template_py(title, metrics, unit):
    return (TEMPLATE.replace("__TITLE__", json.dumps(title)).replace("__METRICS__", json.dumps(metrics))
            .replace("__UNIT__", json.dumps(unit)))


# ---------------------------------------------------------------------------------------------------------------
# Submissions: what a user uploads, a submission_wrapper.py module and its requirements.

REQUIREMENTS = "pandas==2.2.3\nnumpy==2.1.3\n"

TIME_SHIFT_CORE = '''import pandas as pd


def _as_series(time_series):
    series = pd.Series(time_series).astype(float)
    if not isinstance(series.index, pd.DatetimeIndex):
        series.index = pd.to_datetime(series.index)
    return series


def _estimate_shifts(series):
    """Per day, solar noon is near the power-weighted mean of the clock time; a jump of that noon against the
    first week's median, rounded to whole hours, is the clock's shift. The index keeps its own offset: the clock
    the logger wrote is what shifts."""
    power = series.clip(lower=0).fillna(0.0)
    clock_hours = series.index.hour + series.index.minute / 60 + series.index.second / 3600
    days = pd.Index(series.index.date)
    frame = pd.DataFrame({"power": power.to_numpy(), "weighted": power.to_numpy() * clock_hours})
    sums = frame.groupby(days).sum()
    noon = (sums["weighted"] / sums["power"].where(sums["power"] > 0)).ffill().bfill()
    baseline = noon.iloc[:7].median()
    return (noon - baseline).round() + 0.0
'''

SUBMISSIONS = {
    "time-shift-correct": TIME_SHIFT_CORE + '''

def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):
    return _estimate_shifts(_as_series(time_series))
''',
    "time-shift-wrong": '''import pandas as pd


def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):
    """Always answers a two-hour shift: the right shape, the wrong values, so it scores badly."""
    days = sorted(set(pd.to_datetime(pd.Series(time_series).index).date))
    return pd.Series(2.0, index=days)
''',
    "time-shift-raises-some": TIME_SHIFT_CORE + '''

def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):
    series = _as_series(time_series)
    minutes = series.index.to_series().diff().median().total_seconds() / 60
    if minutes < 10:
        raise ValueError(f"{minutes:g}-minute data is not supported; resample to 15 minutes")
    return _estimate_shifts(series)
''',
    "time-shift-sleeps": "import time\n\n" + TIME_SHIFT_CORE + '''

def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):
    series = _as_series(time_series)
    if series.index.to_series().diff().median().total_seconds() < 600:
        time.sleep(3600)  # far beyond any file time limit: the worker must stop it
    return _estimate_shifts(series)
''',
    "time-shift-bad-requirement": TIME_SHIFT_CORE + '''

def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):
    return _estimate_shifts(_as_series(time_series))
''',
    "az-tilt-correct": '''import numpy as np
import pandas as pd


def _sun(index, latitude, longitude):
    """Sun vectors (east, north, up) from NOAA's low-precision formulas; the index must know its offset."""
    utc = index.tz_convert("UTC") if index.tz is not None else index
    day_of_year = utc.dayofyear.to_numpy()
    hours = (utc.hour + utc.minute / 60 + utc.second / 3600).to_numpy()
    gamma = 2 * np.pi / 365 * (day_of_year - 1 + (hours - 12) / 24)
    eqtime = 229.18 * (0.000075 + 0.001868 * np.cos(gamma) - 0.032077 * np.sin(gamma)
                       - 0.014615 * np.cos(2 * gamma) - 0.040849 * np.sin(2 * gamma))
    decl = (0.006918 - 0.399912 * np.cos(gamma) + 0.070257 * np.sin(gamma) - 0.006758 * np.cos(2 * gamma)
            + 0.000907 * np.sin(2 * gamma) - 0.002697 * np.cos(3 * gamma) + 0.00148 * np.sin(3 * gamma))
    hour_angle = np.radians((hours * 60 + eqtime + 4 * longitude) / 4 - 180)
    lat = np.radians(latitude)
    east = -np.cos(decl) * np.sin(hour_angle)
    north = np.sin(decl) * np.cos(lat) - np.cos(decl) * np.cos(hour_angle) * np.sin(lat)
    up = np.sin(decl) * np.sin(lat) + np.cos(decl) * np.cos(hour_angle) * np.cos(lat)
    return east, north, up


def estimate_az_tilt(time_series, latitude, longitude):
    """Grid search in 5° steps: the orientation whose clear-sky shape, scaled, best fits the clearest days."""
    series = pd.Series(time_series).astype(float).dropna()
    if not isinstance(series.index, pd.DatetimeIndex):
        series.index = pd.to_datetime(series.index, utc=True)
    energy = series.groupby(series.index.date).sum()
    clear_days = set(energy[energy >= 0.9 * energy.quantile(0.9)].index)
    east, north, up = _sun(series.index, float(latitude), float(longitude))
    keep = np.array([d in clear_days for d in series.index.date]) & (up > np.sin(np.radians(15)))
    power = series.to_numpy()[keep]
    east, north, up = east[keep], north[keep], up[keep]
    beam = 1353 * 0.7 ** ((1 / up) ** 0.678)
    az_deg, tilt_deg = [grid.ravel() for grid in np.meshgrid(np.arange(90.0, 271.0, 5.0), np.arange(0.0, 61.0, 5.0))]
    az, tilt = np.radians(az_deg)[:, None], np.radians(tilt_deg)[:, None]
    cos_aoi = np.sin(tilt) * np.sin(az) * east + np.sin(tilt) * np.cos(az) * north + np.cos(tilt) * up
    model = beam * np.clip(cos_aoi, 0, None) + 0.1 * beam * (1 + np.cos(tilt)) / 2
    scale = (model @ power) / np.einsum("ij,ij->i", model, model)
    residual = np.einsum("ij,ij->i", model, model) * scale**2 - 2 * scale * (model @ power) + power @ power
    best = int(np.argmin(residual))
    return float(az_deg[best]), float(tilt_deg[best])
''',
}

BAD_REQUIREMENTS = REQUIREMENTS + "pvhub-no-such-package-for-tests==1.0.0\n"


def zip_bytes(entries):
    """A zip of (name, bytes) entries, names ending in / are folders, reproducible byte for byte."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3  # Unix, so the permission bits below are honoured
            info.external_attr = ((0o40755 << 16) | 0x10) if name.endswith("/") else (0o100644 << 16)
            archive.writestr(info, data)
    return buffer.getvalue()


def submission_files():
    files = {}
    for name, module in SUBMISSIONS.items():
        requirements = BAD_REQUIREMENTS if name == "time-shift-bad-requirement" else REQUIREMENTS
        members = [("requirements.txt", requirements.encode()), ("submission_wrapper.py", module.encode())]
        for member, data in members:
            files[f"{name}/{member}"] = data
        files[f"{name}.zip"] = zip_bytes(members)
    # Zipping a folder (as most people do) puts everything under one top-level folder.
    correct = [(m, files[f"time-shift-correct/{m}"]) for m in ("requirements.txt", "submission_wrapper.py")]
    files["time-shift-correct-nested.zip"] = zip_bytes(
        [("time-shift-correct/", b"")] + [(f"time-shift-correct/{m}", data) for m, data in correct])
    return files


def everything():
    files = {}
    for task, content in (("time-shift-detection", time_shift_task()), ("az-tilt-estimation", az_tilt_task())):
        files.update({f"tasks/{task}/{path}": data for path, data in content.items()})
    files.update({f"submissions/{path}": data for path, data in submission_files().items()})
    return files


def sync(out, files):
    """Writes what changed and removes what this script no longer makes, under the managed folders only."""
    written = 0
    for relative in sorted(files):
        target = os.path.join(out, *relative.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.isfile(target):
            with open(target, "rb") as existing:
                if existing.read() == files[relative]:
                    continue
        with open(target, "wb") as handle:
            handle.write(files[relative])
        written += 1
    removed = 0
    for root in MANAGED:
        for folder, subfolders, names in os.walk(os.path.join(out, root), topdown=False):
            if any(part in CACHES for part in os.path.relpath(folder, out).split(os.sep)):
                continue
            for name in names:
                relative = os.path.relpath(os.path.join(folder, name), out).replace(os.sep, "/")
                if relative not in files:
                    os.remove(os.path.join(folder, name))
                    removed += 1
            if not os.listdir(folder):
                os.rmdir(folder)
    return written, removed


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=HERE, help="folder to write tasks/ and submissions/ into (default: examples/)")
    args = parser.parse_args(argv)
    files = everything()
    written, removed = sync(os.path.abspath(args.out), files)
    total = sum(len(data) for data in files.values())
    print(f"{len(files)} files, {total / 1e6:.2f} MB: {written} written, {removed} removed, under {args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
