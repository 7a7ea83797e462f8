import pandas as pd


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


def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):
    return _estimate_shifts(_as_series(time_series))
