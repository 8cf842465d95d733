"""suanwang (算网): plan, schedule, run and bill large-model training across a federation of
computing centers."""

__version__ = "0.1.0"
