"""Datasets: embedded synthetic defaults and loaders for the real public files."""
