"""Small statistics for the report: percentiles and medians of runs."""

import statistics


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an already sorted list (None if empty)."""
    if not sorted_values:
        return None
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


def median_of(runs, key):
    """Median of one figure over repeated runs, ignoring runs without it."""
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None
