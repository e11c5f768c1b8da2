"""The built-in plugins: ordinary plugin modules, loaded by name before any outside plugin.

Each module here registers one built-in through the same hooks a third party uses; factories are
``lazy`` so importing a built-in does not import the class it provides.
"""

__all__ = ["BUILTIN_PLUGINS"]

#: Module names of the built-in plugins, in load order. ``--no-plugins`` keeps exactly these.
BUILTIN_PLUGINS = (
    "tune_core.builtin.fifo",
    "tune_core.builtin.median_stopping",
    "tune_core.builtin.basic_variant",
    "tune_core.builtin.json_logger",
    "tune_core.builtin.csv_logger",
    "tune_core.builtin.local_executor",
    "tune_core.builtin.thread_executor",
)
