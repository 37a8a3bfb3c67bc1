"""Typed training configs: TRL's SFTConfig / GRPOConfig plus the fields this project adds, read from YAML.

`VideoSFTConfig` and `VideoGRPOConfig` are TRL's own dataclasses with this project's defaults and extra fields
(video sampling, reason on/off, LoRA, packing a video's questions into one row, micro-batches, frozen vision
tower, GRPO's prompts per step and fixed question samples). Every TRL / transformers field is there too, so a
YAML file may set any of them:

    # sft.yaml, for: fingereval train sft --config sft.yaml --data qa.jsonl --model M --out ckpt --lr 1e-4
    num_train_epochs: 3
    learning_rate: 2.0e-4       # --lr, given on the command line, wins
    lora_rank: 32
    max_frames: 16

The file is read by TRL's own parser (`TrlParser`, an `HfArgumentParser`): an `env:` mapping sets environment
variables, strings are converted to the fields' types, and an unknown key is an error. Flags given on the command
line override the file. Each run saves the config it used beside the checkpoint (`training_config.yaml`), which
loads back with `--config` to repeat the run.

A config records the values it was given (`given`), and `replace` builds a new one from them: TRL's
`__post_init__` derives fields (GRPO's generation batch, the learning rate picked for LoRA or full fine-tuning),
and a copy made from derived values would keep stale ones or be refused. The device (`--device`) is not part of
the recipe: `trainer_args(device)` gives the plain TRL config the trainer runs with on it.
"""
import copy
import dataclasses
import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from transformers.trainer_utils import SaveStrategy, SchedulerType
from trl import GRPOConfig, SFTConfig

from fingereval.errors import ConfigError
from fingereval.video import VideoConfig

TRAINING_CONFIG_FILE = "training_config.yaml"
# Learning rates when none is given, for a pretrained 7B. LoRA's (rank 16, alpha 32) are 20x and 10x full
# fine-tuning's: about the 10x (15x in short runs) that "LoRA Without Regret" (Schulman et al., 2025) reports for
# pretrained models at this adapter scale. The probe world's sweep (benchmarks/lora_defaults.py; docs/training.md,
# "LoRA defaults, measured") kept them: there 2e-4 at rank 16 stays at chance and 5e-4..3e-3 all learn, but its
# random, 128-wide language model wants rates two orders of magnitude above a 7B's even in full fine-tuning, so
# its knee does not place a 7B's. The tiny model takes --lr 1e-3 with LoRA, as the demo does without.
DEFAULT_LR_LORA = 2e-4
DEFAULT_LR_FULL = 1e-5
DEFAULT_GRPO_LR_LORA = 1e-5
DEFAULT_GRPO_LR_FULL = 1e-6
# the CLI's --schedule names -> transformers' scheduler types (constant keeps the warmup)
SCHEDULES = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}
# GRPO's answer rewards (fingereval.train.grpo): the paper's accuracy, or the graded probability of the right answer
GRPO_REWARDS = ("accuracy", "graded")
BF16_HELP = "bf16 autocast over float32 weights; None (the default) follows the device: on for CUDA, off on the CPU"


def _default(base: type, name: str, value: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING,
             help: str | None = None):
    """A new default for `base`'s field `name`, keeping its help text (or a new one)."""
    metadata = dict(base.__dataclass_fields__[name].metadata)
    if help is not None:
        metadata["help"] = help
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=value, metadata=metadata)


def _extra(value: Any, help: str):
    return field(default=value, metadata={"help": help})


@dataclass
class _ProjectConfig:
    """What both project configs share: LoRA's rank, the video fields, the values given, copies from them, YAML.

    Set on each instance: `given`, the values it was constructed with; on each class: `_base`, the TRL config
    class the trainer gets (trainer_args).
    """

    lora_rank: int = _extra(16, "LoRA rank (alpha is twice the rank)")
    fps: float = _extra(VideoConfig.fps, "sampled frames per second; must match scoring")
    max_frames: int = _extra(VideoConfig.max_frames, "frame budget per video; must match scoring")
    size: int = _extra(VideoConfig.size, "frame side in pixels; must match scoring")
    keep_aspect: bool = _extra(VideoConfig.keep_aspect, "keep the aspect ratio within size*size pixels")

    def _record_given(self) -> None:
        # before TRL's __post_init__ turns strings into enums and derives fields
        self.given = {f.name: copy.deepcopy(getattr(self, f.name)) for f in dataclasses.fields(self) if f.init}

    def replace(self, **changes):
        """A new config from the given values with `changes` (field names), validated as a new one is."""
        unknown = sorted(set(changes) - set(self.given))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(unknown)}")
        return type(self)(**{**copy.deepcopy(self.given), **changes})

    def video_config(self) -> VideoConfig:
        return VideoConfig(fps=self.fps, max_frames=self.max_frames, size=self.size, keep_aspect=self.keep_aspect)

    def _check_video(self) -> None:
        self.video_config()  # ValueError naming the bad values

    def to_yaml(self) -> str:
        """The fields given other values than the defaults, in YAML that `load_config` reads back into an equal
        config (tokens left out: they are credentials, not settings)."""
        import yaml

        values = {name: _plain(value) for name, value in self.given.items()
                  if value != _default_value(type(self), name) and not name.endswith("_token")}
        return yaml.safe_dump(values, sort_keys=False, allow_unicode=True)

    def save(self, out_dir: str | Path) -> Path:
        path = Path(out_dir) / TRAINING_CONFIG_FILE
        path.write_text(self.to_yaml(), encoding="utf-8")
        return path

    def _base_values(self, device: str, **runtime) -> Any:
        """The plain TRL config (`_base`) on `device`: the given values of its own fields, those resolved here,
        then `runtime`."""
        own = {f.name for f in dataclasses.fields(self._base) if f.init}
        values = {k: v for k, v in copy.deepcopy(self.given).items() if k in own}
        values.update(learning_rate=self.learning_rate, activation_checkpointing=self.activation_checkpointing,
                      bf16=self._bf16(device), use_cpu=device == "cpu")
        return self._base(**{**values, **runtime})

    def _bf16(self, device: str) -> bool:
        given = self.given["bf16"]
        return device.startswith("cuda") if given is None else bool(given)

    def _resolve_common(self) -> None:
        """Fields decided here rather than by TRL's __post_init__ (called before it)."""
        if self.bf16 is None:
            self.bf16 = False  # decided by the device in trainer_args; TRL would turn it on and refuse a CPU
        if self.activation_checkpointing is None:  # `gradient_checkpointing`, its old name, still read
            self.activation_checkpointing = bool(self.gradient_checkpointing)
        if self.lora_rank < 1:
            raise ValueError(f"lora_rank must be at least 1, got {self.lora_rank}")
        self._check_video()


def _default_value(cls: type, name: str) -> Any:
    f = cls.__dataclass_fields__[name]
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _plain(value: Any) -> Any:
    """A value YAML can hold: enums by value, paths as text, nested mappings and lists walked."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return _plain(value.to_dict())
    return value


@dataclass
class VideoSFTConfig(_ProjectConfig, SFTConfig):
    """TRL's SFTConfig for SFT on FingER-Instruct with the video (fingereval.train.sft.train_sft).

    Its batches are built by our collators (the stock preparation would drop the video), so the dataset is
    not prepared (`dataset_kwargs`), no column is removed and nothing is truncated (`max_length`).
    `per_device_train_batch_size` counts rows per optimiser step: videos when `pack_questions`, else questions.
    """

    # ---- TRL / transformers fields with this project's defaults ----
    learning_rate: float | None = _default(
        SFTConfig, "learning_rate", None,
        help=f"peak learning rate; None picks {DEFAULT_LR_LORA:g} with LoRA, {DEFAULT_LR_FULL:g} for full fine-tuning")
    num_train_epochs: float = _default(SFTConfig, "num_train_epochs", 2.0)
    per_device_train_batch_size: int = _default(
        SFTConfig, "per_device_train_batch_size", 4,
        help="rows per optimiser step (videos when pack_questions, else questions), before micro_batches splits them")
    warmup_steps: float = _default(SFTConfig, "warmup_steps", 0.03)
    lr_scheduler_type: SchedulerType | str = _default(SFTConfig, "lr_scheduler_type", "cosine")
    weight_decay: float = _default(SFTConfig, "weight_decay", 0.0)
    logging_steps: float = _default(SFTConfig, "logging_steps", 10)
    logging_first_step: bool = _default(SFTConfig, "logging_first_step", True)
    save_strategy: SaveStrategy | str = _default(SFTConfig, "save_strategy", "no")
    report_to: None | str | list[str] = _default(SFTConfig, "report_to", "none")
    gradient_checkpointing: bool = _default(SFTConfig, "gradient_checkpointing", False)
    bf16: bool | None = _default(SFTConfig, "bf16", None, help=BF16_HELP)
    seed: int = _default(SFTConfig, "seed", 0)
    # the collator needs every column, and builds the tokens itself (see fingereval.train.collate)
    remove_unused_columns: bool = _default(SFTConfig, "remove_unused_columns", False)
    dataset_kwargs: dict[str, Any] | str | None = _default(SFTConfig, "dataset_kwargs",
                                                           factory=lambda: {"skip_prepare_dataset": True})
    max_length: int | None = _default(SFTConfig, "max_length", None)
    dataloader_pin_memory: bool = _default(SFTConfig, "dataloader_pin_memory", False)
    disable_tqdm: bool | None = _default(SFTConfig, "disable_tqdm", True)

    # ---- this project's fields ----
    reason: bool = _extra(True, "train <think>reason</think><answer>..</answer> (records without a reason: the "
                                "answer alone); False trains <answer>..</answer>")
    lora: bool = _extra(True, "LoRA adapters on the language model (merged on save); False trains all weights")
    pack_questions: bool = _extra(True, "all questions of a video in one row, laid out as shared-prefix scoring "
                                        "reads it (needs sdpa attention; falls back to one question per row)")
    micro_batches: int = _extra(1, "split each step's rows into this many micro-batches of similar length and "
                                   "accumulate them: the same step, less padding (must divide the batch size)")
    freeze_vision: bool = _extra(False, "keep the vision tower and its merger as they are")

    _base = SFTConfig

    def __post_init__(self):
        self._record_given()
        if self.learning_rate is None:
            self.learning_rate = DEFAULT_LR_LORA if self.lora else DEFAULT_LR_FULL
        if self.micro_batches < 1 or self.per_device_train_batch_size % self.micro_batches:
            raise ValueError(f"micro_batches must divide the batch size (per_device_train_batch_size "
                             f"{self.per_device_train_batch_size}), got {self.micro_batches}")
        self._resolve_common()
        super().__post_init__()

    def trainer_args(self, device: str) -> SFTConfig:
        """The SFTConfig the trainer runs with on `device`: each step's rows in `micro_batches` length-sorted
        micro-batches (transformers' batch_rebalance sampler), accumulated."""
        micro = self.micro_batches
        return self._base_values(
            device, per_device_train_batch_size=self.per_device_train_batch_size // micro,
            gradient_accumulation_steps=self.gradient_accumulation_steps * micro,
            **({"train_sampling_strategy": "batch_rebalance"} if micro > 1 else {}))


@dataclass
class VideoGRPOConfig(_ProjectConfig, GRPOConfig):
    """TRL's GRPOConfig for GRPO on FingER-Instruct with the video (fingereval.train.grpo.train_grpo).

    `num_generations` completions are sampled per question, `prompts_per_step` questions per step: the batch
    (`per_device_train_batch_size`) is their product.
    """

    # ---- TRL / transformers fields with this project's defaults ----
    max_steps: int = _default(GRPOConfig, "max_steps", 100)
    num_generations: int | None = _default(GRPOConfig, "num_generations", 16)
    per_device_train_batch_size: int | None = _default(
        GRPOConfig, "per_device_train_batch_size", None,
        help="completions per step; None: num_generations x prompts_per_step (the only value allowed)")
    learning_rate: float | None = _default(
        GRPOConfig, "learning_rate", None,
        help=f"peak learning rate; None picks {DEFAULT_GRPO_LR_LORA:g} with LoRA, {DEFAULT_GRPO_LR_FULL:g} for full "
             "fine-tuning")
    beta: float = _default(GRPOConfig, "beta", 0.04)
    temperature: float = _default(GRPOConfig, "temperature", 0.9)
    max_completion_length: int | None = _default(GRPOConfig, "max_completion_length", 128)
    # the paper's objective (VLM-R1 / R1-V recipe); TRL 1.16 defaults to "dapo"
    loss_type: str = _default(GRPOConfig, "loss_type", "grpo")
    logging_steps: float = _default(GRPOConfig, "logging_steps", 1)
    save_strategy: SaveStrategy | str = _default(GRPOConfig, "save_strategy", "no")
    report_to: None | str | list[str] = _default(GRPOConfig, "report_to", "none")
    gradient_checkpointing: bool = _default(GRPOConfig, "gradient_checkpointing", False)
    bf16: bool | None = _default(GRPOConfig, "bf16", None, help=BF16_HELP)
    seed: int = _default(GRPOConfig, "seed", 0)
    remove_unused_columns: bool | None = _default(GRPOConfig, "remove_unused_columns", False)  # `video`, `answer`
    dataloader_pin_memory: bool = _default(GRPOConfig, "dataloader_pin_memory", False)
    disable_tqdm: bool | None = _default(GRPOConfig, "disable_tqdm", True)

    # ---- this project's fields ----
    prompts_per_step: int = _extra(1, "questions per optimiser step")
    questions: int | None = _extra(None, "train on a fixed, seeded sample of this many questions [default: all]")
    eval_questions: int = _extra(64, "size of the fixed, seeded sample of the evaluation data's questions rewarded "
                                     "before the first step and after the last")
    lora: bool = _extra(False, "float32 LoRA adapters over a frozen base, which with the adapters off is also the "
                               "reference (merged on save); False trains all weights")
    reward: str = _extra("accuracy", "accuracy: the paper's 1/0 for the right answer; graded: the model's probability "
                                     "of the right answer at the answer slot (each plus the format reward)")

    _base = GRPOConfig

    def __post_init__(self):
        self._record_given()
        if self.prompts_per_step < 1:
            raise ValueError(f"prompts_per_step must be at least 1, got {self.prompts_per_step}")
        if self.reward not in GRPO_REWARDS:
            raise ValueError(f"reward must be one of {', '.join(GRPO_REWARDS)}, got {self.reward!r}")
        batch = self.num_generations * self.prompts_per_step
        if self.per_device_train_batch_size not in (None, batch):
            raise ValueError(f"per_device_train_batch_size ({self.per_device_train_batch_size}) must be "
                             f"num_generations x prompts_per_step ({batch}): leave it out and set prompts_per_step")
        self.per_device_train_batch_size = batch
        if self.learning_rate is None:  # an adapter's update is a low-rank slice: it needs a larger rate to move as far
            self.learning_rate = DEFAULT_GRPO_LR_LORA if self.lora else DEFAULT_GRPO_LR_FULL
        self._resolve_common()
        super().__post_init__()

    def trainer_args(self, device: str, *, suppress_tokens: list[int], evaluate: bool = False) -> GRPOConfig:
        """The GRPOConfig the trainer runs with on `device`. `suppress_tokens` are never sampled (a video or
        image placeholder would have no frames behind it; TRL suppresses only the image one). `evaluate`:
        the evaluation set is sampled and rewarded before the first step and after the last."""
        generation = self.generation_kwargs or {}
        generation = dict(json.loads(generation) if isinstance(generation, str) else generation)  # a file may give JSON
        generation["suppress_tokens"] = list(suppress_tokens) + list(generation.get("suppress_tokens", []))
        evaluation = {}
        if evaluate:
            evaluation = dict(eval_strategy="steps", eval_steps=self.max_steps, eval_on_start=True,
                              num_generations_eval=self.num_generations,
                              per_device_eval_batch_size=self.per_device_train_batch_size)
        return self._base_values(device, per_device_train_batch_size=self.per_device_train_batch_size,
                                 generation_kwargs=generation, **evaluation)


# ---- keyword options (the train functions' and the CLI's names) -> fields ----

# gradient_checkpointing: transformers' old name of activation_checkpointing (read from a file when the new one is
# not set); an option sets the new one, so that it wins over a file's
SFT_OPTIONS = {"epochs": "num_train_epochs", "lr": "learning_rate", "batch_size": "per_device_train_batch_size",
               "grad_accum": "gradient_accumulation_steps", "warmup": "warmup_steps", "log_every": "logging_steps",
               "pack": "pack_questions", "gradient_checkpointing": "activation_checkpointing"}
GRPO_OPTIONS = {"steps": "max_steps", "group_size": "num_generations", "lr": "learning_rate",
                "max_completion": "max_completion_length", "log_every": "logging_steps",
                "gradient_checkpointing": "activation_checkpointing"}


def _fields(cls: type, aliases: dict[str, str], options: dict[str, Any], caller: str) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    out: dict[str, Any] = {}
    for name, value in options.items():
        if name == "video_config":
            out.update(fps=value.fps, max_frames=value.max_frames, size=value.size, keep_aspect=value.keep_aspect)
        elif name == "schedule" and cls is VideoSFTConfig:
            if value not in SCHEDULES:
                raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {value!r}")
            out["lr_scheduler_type"] = SCHEDULES[value]
        elif aliases.get(name, name) in names:
            out[aliases.get(name, name)] = value
        else:
            raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}")
    return out


def _build(cls, aliases, caller, out, base, options):
    fields = _fields(cls, aliases, options, caller)
    if out is not None:
        fields["output_dir"] = str(out)
    if base is None:
        return cls(**fields)
    if not isinstance(base, cls):
        raise TypeError(f"config must be a {cls.__name__}, got {type(base).__name__}")
    return base.replace(**fields) if fields else base


def sft_config(out: str | Path | None = None, *, base: VideoSFTConfig | None = None, **options) -> VideoSFTConfig:
    """`base` (or the defaults) with `options` applied and `output_dir=out`.

    `options` are VideoSFTConfig field names or train_sft's short names: epochs, lr, batch_size, grad_accum,
    warmup, log_every, pack, gradient_checkpointing, schedule (cosine, linear, constant) and video_config (a VideoConfig).
    """
    return _build(VideoSFTConfig, SFT_OPTIONS, "train_sft", out, base, options)


def grpo_config(out: str | Path | None = None, *, base: VideoGRPOConfig | None = None, **options) -> VideoGRPOConfig:
    """`base` (or the defaults) with `options` applied and `output_dir=out`.

    `options` are VideoGRPOConfig field names or train_grpo's short names: steps, group_size, lr, max_completion,
    log_every, gradient_checkpointing and video_config (a VideoConfig).
    """
    return _build(VideoGRPOConfig, GRPO_OPTIONS, "train_grpo", out, base, options)


def require_output_dir(config: _ProjectConfig, caller: str) -> None:
    """Refuse to train without a folder to save to (TRL would pick ./trainer_output)."""
    if config.given["output_dir"] is None:
        raise TypeError(f"{caller}() needs `out` (or a config with output_dir): the folder to save the checkpoint")


def load_config(cls: type, path: str | Path):
    """The `cls` config a YAML file describes, read by TRL's parser; ConfigError (one line) when it cannot be."""
    from trl import TrlParser

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        (config,) = TrlParser(cls, exit_on_error=False).parse_args_and_config(["--config", str(path)])
    except ValueError as e:
        raise ConfigError(f"{path}: {_one_line(e, cls)}") from None
    except Exception as e:  # YAML syntax, a value argparse cannot convert
        raise ConfigError(f"{path}: {' '.join(str(e).split())}") from None
    return config


def _one_line(e: ValueError, cls: type) -> str:
    import re

    unknown = re.match(r"Unknown arguments from config file: (\[.*\])\. Please remove them", str(e), re.DOTALL)
    if unknown:
        import ast

        keys = [a.removeprefix("--") for a in ast.literal_eval(unknown.group(1))[::2]]
        return (f"unknown key{'s' if len(keys) > 1 else ''} {', '.join(keys)}: not a field of {cls.__name__} "
                "(TRL's fields and fingereval's, see fingereval.train.training_config)")
    return " ".join(str(e).split())
