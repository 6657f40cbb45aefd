"""LoRA supervised fine-tuning with TRL's SFTTrainer on the base model: r=16, α=32, dropout 0.05 on the attention
and MLP projections; full precision on CPU, 4-bit NF4 (QLoRA) when CUDA is present. Loss on the completion only.

Progress and the loss curve go to a callback; a run can be stopped between steps and resumed from its last
checkpoint; a loss that turns NaN or infinite stops the run with that reason.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import SFTConfig, SFTTrainer

TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
DIVERGED = "the training loss became {loss} at step {step}"


class TrainingDiverged(RuntimeError):
    pass


class TrainingStopped(RuntimeError):
    """The run was asked to stop; its last checkpoint can resume it."""


@dataclass
class LoraHyperparameters:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: list(TARGET_MODULES))
    learning_rate: float = 1e-3
    max_steps: int = 300
    batch_size: int = 8
    max_length: int = 256
    warmup_steps: int = 10
    save_steps: int = 50
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# progress(step, max_steps, loss or None) -> True to stop the run
Progress = Callable[[int, int, float | None], bool]


class _Reporter(TrainerCallback):
    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.losses: list[tuple[int, float]] = []
        self.stopped = False

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        if not math.isfinite(loss):
            raise TrainingDiverged(DIVERGED.format(loss=loss, step=state.global_step))
        self.losses.append((state.global_step, float(loss)))

    def on_step_end(self, args, state, control, **kwargs):
        last = self.losses[-1][1] if self.losses else None
        if self.progress is not None and self.progress(state.global_step, state.max_steps, last):
            self.stopped = True
            control.should_save = True
            control.should_training_stop = True


def _load(base_dir: Path):
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    if torch.cuda.is_available():
        from transformers import BitsAndBytesConfig

        quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                          bnb_4bit_compute_dtype=torch.bfloat16)
        model = AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True, quantization_config=quantization,
                                                     device_map="cuda")
    else:
        model = AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True, dtype=torch.float32)
    return model, tokenizer


def train_sft(*, base_dir: Path, base_name: str, examples: list[dict], output_dir: Path,
              hparams: LoraHyperparameters, progress: Progress | None = None, resume: bool = False) -> dict[str, Any]:
    """Train a LoRA adapter on conversational prompt/completion examples and save it (adapter_config.json +
    adapter_model.safetensors) into output_dir/adapter, naming `base_name` as its base model (the registry's name
    for it, not the cache folder). Returns the loss curve and timing."""
    model, tokenizer = _load(base_dir)
    config = SFTConfig(
        output_dir=str(output_dir / "checkpoints"), max_steps=hparams.max_steps,
        per_device_train_batch_size=hparams.batch_size, learning_rate=hparams.learning_rate,
        lr_scheduler_type="cosine", warmup_steps=hparams.warmup_steps,
        logging_steps=max(1, min(5, hparams.max_steps // 10)),  # a short run still draws its curve
        save_steps=hparams.save_steps, save_total_limit=2, max_length=hparams.max_length, seed=hparams.seed,
        report_to="none", completion_only_loss=True, bf16=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0, disable_tqdm=True,
        # Activation checkpointing trades compute for memory, and this small model has memory to spare.
        gradient_checkpointing=False,
    )
    peft_config = LoraConfig(r=hparams.rank, lora_alpha=hparams.alpha, lora_dropout=hparams.dropout,
                             target_modules=hparams.target_modules, task_type="CAUSAL_LM")
    reporter = _Reporter(progress)
    trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(examples),
                         processing_class=tokenizer, peft_config=peft_config, callbacks=[reporter])
    started = time.perf_counter()
    checkpoint = resume and any((output_dir / "checkpoints").glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if checkpoint else None)
    seconds = time.perf_counter() - started
    if reporter.stopped:
        raise TrainingStopped(f"stopped at step {trainer.state.global_step}")
    adapter_dir = output_dir / "adapter"
    trainer.model.save_pretrained(adapter_dir)
    config_file = adapter_dir / "adapter_config.json"
    saved = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**saved, "base_model_name_or_path": base_name}, indent=2))
    return {"losses": reporter.losses, "seconds": seconds, "steps": trainer.state.global_step,
            "device": "cuda" if torch.cuda.is_available() else "cpu", "adapter_dir": str(adapter_dir)}
