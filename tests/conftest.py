"""Test-wide settings: headless plotting, and the folder of the book's own resources used in CI."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
