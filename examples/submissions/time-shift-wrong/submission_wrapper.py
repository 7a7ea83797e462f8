import pandas as pd


def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):
    """Always answers a two-hour shift: the right shape, the wrong values, so it scores badly."""
    days = sorted(set(pd.to_datetime(pd.Series(time_series).index).date))
    return pd.Series(2.0, index=days)
