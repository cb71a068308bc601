"""Each model's training loss and accuracy over its last epoch: the mean of the epoch's step losses
weighted by each batch's rows (Keras's epoch loss). With minibatches one step's loss is one batch's, and
an epoch's last batch may hold a few rows, so a run's final training loss is this mean, not one row's."""

from __future__ import annotations


class EpochMeans:
    """Running per-model sums over the current epoch, and the means of the last complete one."""

    def __init__(self, n_models: int, steps_per_epoch: int):
        self.K, self.steps_per_epoch = n_models, steps_per_epoch
        self.loss_sum, self.correct_sum, self.rows = [0.0] * n_models, [0.0] * n_models, 0
        self.last_loss: list[float] | None = None  # the last complete epoch's means
        self.last_accuracy: list[float] | None = None
        self.counts = False  # whether the task counts correct predictions (classification)
        self.full_batch: tuple[list[float] | None, int] | None = None  # full batch: the last step's counts, rows
        self.frozen: dict[int, tuple] = {}  # models that stopped early: their values when they stopped

    def add(self, step: int, losses: list[float], correct: list[float] | None, rows: int,
            stopped: list[int | None] | None = None) -> None:
        """One step's per-model losses (each a mean over the step's `rows` rows) and correct counts.
        `stopped`: the step each model stopped early at, whose means stay as they were then."""
        if stopped is not None:
            for k, at in enumerate(stopped):
                if at is not None and at < step and k not in self.frozen:
                    self.frozen[k] = self.final(k)
        if self.steps_per_epoch == 1:  # full batch: the epoch is the step, no sums needed (nor, each step, divisions)
            self.last_loss, self.full_batch = list(losses), (None if correct is None else list(correct), rows)
            return
        self.loss_sum = [s + x * rows for s, x in zip(self.loss_sum, losses)]
        if correct is not None:
            self.counts = True
            self.correct_sum = [s + c for s, c in zip(self.correct_sum, correct)]
        self.rows += rows
        if step % self.steps_per_epoch == 0:  # the epoch's last step
            self.last_loss = [s / self.rows for s in self.loss_sum]
            self.last_accuracy = None if correct is None else [s / self.rows for s in self.correct_sum]
            self.loss_sum, self.correct_sum, self.rows = [0.0] * self.K, [0.0] * self.K, 0

    def final(self, k: int) -> tuple[float | None, float | None]:
        """Model k's (loss, accuracy) over its last complete epoch; before one completed, over the steps so far."""
        if k in self.frozen:
            return self.frozen[k]
        if self.full_batch is not None:
            correct, rows = self.full_batch
            return self.last_loss[k], correct[k] / rows if correct is not None else None
        if self.last_loss is not None:
            return self.last_loss[k], self.last_accuracy[k] if self.last_accuracy is not None else None
        if self.rows == 0:
            return None, None
        return self.loss_sum[k] / self.rows, self.correct_sum[k] / self.rows if self.counts else None

    def state(self) -> dict:
        """For a checkpoint: a resumed run's epoch goes on summing where it stopped."""
        return {"loss_sum": list(self.loss_sum), "correct_sum": list(self.correct_sum), "rows": self.rows,
                "last_loss": self.last_loss, "last_accuracy": self.last_accuracy, "counts": self.counts,
                "full_batch": self.full_batch, "frozen": {k: list(v) for k, v in self.frozen.items()}}

    def load_state(self, state: dict) -> None:
        self.loss_sum, self.correct_sum = list(state["loss_sum"]), list(state["correct_sum"])
        self.rows, self.last_loss, self.last_accuracy = state["rows"], state["last_loss"], state["last_accuracy"]
        self.counts, self.full_batch = state["counts"], state["full_batch"]
        self.frozen = {k: tuple(v) for k, v in state.get("frozen", {}).items()}
