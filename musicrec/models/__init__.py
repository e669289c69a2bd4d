"""Torch sequence models of listening sessions: skip prediction and track-sequence recommendation."""
