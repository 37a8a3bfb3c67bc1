"""A rich progress bar and one short log line per logging step, instead of the Trainer's raw dicts."""
from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback

# (logged key, short name): what tells whether SFT or GRPO is working
SHOWN = (
    ("loss", "loss"),
    ("mean_token_accuracy", "token acc"),
    ("reward", "reward"),
    ("rewards/accuracy_reward/mean", "accuracy"),
    ("rewards/graded_reward/mean", "graded"),
    ("rewards/format_reward/mean", "format"),
    ("kl", "kl"),
    ("eval_reward", "fixed-set reward"),
    ("eval_rewards/accuracy_reward/mean", "fixed-set accuracy"),
    ("eval_rewards/graded_reward/mean", "fixed-set graded"),
    ("eval_rewards/format_reward/mean", "fixed-set format"),
    ("completions/mean_length", "length"),
    ("learning_rate", "lr"),
    ("epoch", "epoch"),
)


def log_line(step: int, logs: dict) -> str:
    parts = [f"{name} {logs[key]:.4g}" for key, name in SHOWN if isinstance(logs.get(key), (int, float))]
    return f"step {step}: " + ", ".join(parts)


class RichTrainingLog(TrainerCallback):
    def __init__(self, title: str, console: Console | None = None):
        self.title = title
        self.console = console or Console(stderr=True)
        self.progress: Progress | None = None
        self.task = None

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self.progress = Progress(TextColumn(f"[bold]{self.title}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TimeRemainingColumn(), console=self.console)
        self.progress.start()
        self.task = self.progress.add_task(self.title, total=state.max_steps)

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.progress is not None and logs:
            self.progress.console.print(log_line(state.global_step, logs), soft_wrap=True, highlight=False)

    def on_train_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def say(message: str) -> None:
    """One line on stderr, where the training log and the CLI's messages go (no markup: paths may hold brackets)."""
    Console(stderr=True).print(message, soft_wrap=True, highlight=False, markup=False)


def use_rich_log(trainer, title: str) -> None:
    """Swap the Trainer's tqdm bar and dict printer for RichTrainingLog."""
    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(RichTrainingLog(title))
