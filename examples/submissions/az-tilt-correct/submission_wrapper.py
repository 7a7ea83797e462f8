import numpy as np
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
