#!/usr/bin/env python3
"""Reference values for cutover's Mann-Whitney U test.

Writes tests/fixtures/mann_whitney.json: each sample pair with SciPy's
two-sided `mannwhitneyu` (method="auto") statistic and p-value. Run it in a
virtual environment with SciPy installed:

    python3 -m venv /tmp/scipy-venv && /tmp/scipy-venv/bin/pip install scipy
    /tmp/scipy-venv/bin/python scripts/mann-whitney-fixtures.py
"""
import json
import pathlib

import numpy as np
import scipy
from scipy.stats import mannwhitneyu

rng = np.random.default_rng(20260523)


def normal(mean, sd, n):
    # Three decimals, as a latency in milliseconds would be shown.
    return [round(float(v), 3) for v in rng.normal(mean, sd, n)]


def integers(low, high, n):
    return [float(v) for v in rng.integers(low, high, n)]


CASES = {
    "one against one": ([1.0], [2.0]),
    "one against three": ([2.5], [1.0, 3.0, 4.0]),
    "two against three": ([0.2, 0.9], [0.1, 0.5, 0.7]),
    "three against three, apart": ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]),
    "two against two, equal": ([1.0, 2.0], [1.0, 2.0]),
    "small with ties": ([1.0, 2.0, 2.0, 3.0], [2.0, 3.0, 3.0, 4.0]),
    "equal samples": ([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0]),
    "constant and equal": ([5.0] * 6, [5.0] * 6),
    "constant and apart": ([1.0] * 3, [2.0] * 4),
    "eight against eight, interleaved": (
        [1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0],
        [2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.5],
    ),
    "eight against fifty, exact": (normal(120, 15, 8), normal(130, 15, 50)),
    "nine against nine, asymptotic": (normal(10, 2, 9), normal(11, 2, 9)),
    "sixty each, same distribution": (normal(120, 20, 60), normal(120, 20, 60)),
    "sixty each, canary slower": (normal(120, 20, 60), normal(161, 25, 60)),
    "sixty against fifty-five, many ties": (integers(0, 6, 60), integers(1, 7, 55)),
    "five against twenty, ties": (integers(0, 4, 5), integers(0, 4, 20)),
    "sparse error counts": ([0.0] * 55 + [1.0] * 5, [0.0] * 50 + [1.0, 2.0] * 5),
}


def main():
    cases = []
    for name, (x, y) in CASES.items():
        result = mannwhitneyu(x, y, alternative="two-sided", method="auto")
        cases.append(
            {
                "name": name,
                "x": x,
                "y": y,
                "u1": float(result.statistic),
                "p_value": float(result.pvalue),
            }
        )
    out = {
        "generator": "scripts/mann-whitney-fixtures.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "call": 'scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="auto")',
        "cases": cases,
    }
    path = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/mann_whitney.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"{len(cases)} cases written to {path}")


if __name__ == "__main__":
    main()
