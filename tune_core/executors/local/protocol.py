"""The local executor's own messages, beside the runtime's (``tune_core.runtime.protocol``).

Driver -> worker: ``(START, launch, trainable_key, trainable_bytes | None, {pin handle: shm path})`` and
``(EXIT,)``, plus the runtime's ``Continue``/``Stop``/``Pause``/``Save`` for the trial it runs.
Worker -> driver: the ``tune_core.interfaces`` events (``TrialResults``, ``TrialCheckpointed``,
``TrialPaused``, ``TrialFinished``, ``TrialFailed``), exactly as the trial runtime sends them.
"""

START = "start"
EXIT = "exit"
