"""tune-example-scheduler: a threshold scheduler, shipped as a tune-core plugin."""

__version__ = "0.3.1"
