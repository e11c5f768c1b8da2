"""Messages between the driver and a worker process: small tuples, pickled over two pipes.

Driver -> worker: ``(START, launch, trainable_bytes | None)``, ``(CONTINUE, trial_id, decision_point)``,
``(STOP, trial_id)``, ``(PAUSE, trial_id)``, ``(EXIT,)``.
Worker -> driver: ``(RESULTS, trial_id, [result, ...], waiting)``, ``(CHECKPOINT, trial_id, path,
iteration)``, ``(PAUSED, trial_id)``, ``(FINISHED, trial_id)``, ``(FAILED, trial_id, traceback_text)``.
"""

START = "start"
CONTINUE = "continue"
STOP = "stop"
PAUSE = "pause"
EXIT = "exit"

RESULTS = "results"
CHECKPOINT = "checkpoint"
FINISHED = "finished"
PAUSED = "paused"
FAILED = "failed"
