"""Serving a class: the worker processes, the jobs they run, the limits on a run."""
