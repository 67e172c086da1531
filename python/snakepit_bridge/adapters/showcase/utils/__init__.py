"""Helpers the showcase's handlers share (pure functions, no state)."""
