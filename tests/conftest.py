import os

# Headless plotting in tests and notebook kernels.
os.environ.setdefault("MPLBACKEND", "Agg")
