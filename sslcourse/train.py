"""One training loop for every method of the course.

The dataset stays on the device as uint8 and each method augments its batch there, so the loop is
bound by the model, not by CPU data loading (the conventional DataLoader pipeline starves a GPU,
see benchmarks/throughput.py). A method is an `nn.Module` with

    training_loss(x, y, generator) -> loss   # x: uint8 (B, 3, 32, 32) on the device, y: (B,)

and whatever loss it computes is its own (so a student's loss function plugs in through the method).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from sslcourse.device import Precision, precision_for


@dataclass(frozen=True)
class TrainConfig:
    epochs: float = 30.0  # passes over the data; with `minutes`, an upper bound
    minutes: float | None = None  # wall-clock budget; the schedule then follows elapsed / budget
    batch_size: int = 512
    optimizer: str = "sgd"  # "sgd" (Nesterov momentum) or "adamw"
    lr: float = 0.2
    momentum: float = 0.9
    betas: tuple[float, float] = (0.9, 0.95)  # AdamW only
    weight_decay: float = 5e-4  # not applied to biases and norm parameters
    warmup: float = 0.05  # fraction of the run spent warming the rate up linearly
    compile: bool = False  # torch.compile the method's modules (worth it for runs of minutes on a GPU)
    seed: int = 0
    nan_check_every: int = 25  # steps between loss syncs to the host (a sync stalls a GPU)

    def __post_init__(self):
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {self.optimizer!r}")
        if self.epochs <= 0 or (self.minutes is not None and self.minutes <= 0):
            raise ValueError(f"epochs ({self.epochs}) and minutes ({self.minutes}) must be positive")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")


def device_layout(x: torch.Tensor) -> torch.Tensor:
    """channels_last on a GPU (NHWC convolutions use the tensor cores), plain NCHW elsewhere (faster on CPUs)."""
    return x.contiguous(memory_format=torch.channels_last if x.is_cuda else torch.contiguous_format)


class TrainingDiverged(RuntimeError):
    """The loss stopped being a finite number."""


@dataclass
class TrainResult:
    steps: int
    epochs: float
    seconds: float
    samples_per_s: float
    final_loss: float
    stopped_by: str  # "epochs" or "time"
    history: list[dict] = field(default_factory=list)
    precision: str = "fp32"  # "bf16", "fp16" (with a gradient scaler) or "fp32": `sslcourse.device.precision_for`


def lr_factor(progress: float, warmup: float) -> float:
    """Linear warm-up, then cosine decay to zero, as a function of the run's progress in [0, 1].

    Progress is a fraction of the whole run (steps or wall-clock), never an estimate made from the first
    steps: those are slow (autotuning, compilation) and would end the schedule far too early.
    """
    if progress < warmup:
        return (progress + 1e-3) / (warmup + 1e-3)
    t = (progress - warmup) / max(1e-8, 1.0 - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]  # biases, norms, tokens
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)
    # compiled on a GPU: the step counters live on the device too, so the compiled step never reads a host scalar
    capturable = cfg.compile and any(p.is_cuda for p in decay)
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, capturable=capturable)


def save_checkpoint(path: Path, state: dict) -> None:
    """Write atomically: an interrupted save never destroys the previous checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)


@dataclass
class _Run:
    """What a training run carries between its stages: the data on the device, the optimizer, the randomness
    and the progress made (all of it restored on resume)."""

    method: nn.Module
    cfg: TrainConfig
    device: torch.device
    x: torch.Tensor
    y: torch.Tensor
    opt: torch.optim.Optimizer
    gen: torch.Generator
    order: torch.Tensor
    steps_per_epoch: int
    total_steps: int
    step: int = 0
    elapsed_before: float = 0.0
    history: list[dict] = field(default_factory=list)
    precision: Precision = field(default_factory=Precision)  # float32 unless `setup` picks otherwise
    scaler: torch.amp.GradScaler | None = None  # enabled for float16 only

    def snapshot(self, elapsed: float) -> dict:
        state = {
            "model": self.method.state_dict(),
            "optimizer": self.opt.state_dict(),
            "generator": self.gen.get_state(),
            "order": self.order,
            "step": self.step,
            "elapsed_s": elapsed,
            "history": self.history,
            "config": asdict(self.cfg),
            "cpu_rng": torch.get_rng_state(),
        }
        if self.device.type == "cuda":  # a compiled step draws from the device's default generator
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        if self.scaler is not None and self.scaler.is_enabled():
            state["grad_scaler"] = self.scaler.state_dict()
        return state


def _check_inputs(images, labels, cfg, checkpoint, resume, overwrite) -> None:
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {list(images.shape)}")
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if len(images) < cfg.batch_size:
        raise ValueError(f"batch_size {cfg.batch_size} is larger than the dataset ({len(images)} images)")
    if checkpoint and checkpoint.exists() and not (resume or overwrite):
        raise FileExistsError(
            f"{checkpoint} already exists; pass resume=True to continue that run or overwrite=True to replace it"
        )


def setup(
    method,
    images,
    labels,
    cfg: TrainConfig,
    device: torch.device,
    checkpoint: Path | None,
    resume: bool,
    precision: Precision | None = None,
) -> _Run:
    """Stage 1: the method, data and optimizer on the device; with `resume`, the state of `checkpoint` restored
    (loaded with weights_only=True: a checkpoint is data, never code). `precision`: the device's own rule
    (`sslcourse.device.precision_for`) unless given."""
    torch.manual_seed(cfg.seed)
    method.to(device)
    if device.type == "cuda":
        method.to(memory_format=torch.channels_last)  # NHWC convolutions run on the tensor cores
        torch.backends.cudnn.benchmark = True  # shapes are constant (drop_last), so autotuning pays off
    opt = make_optimizer(method, cfg)
    if cfg.compile:  # a tensor learning rate: changing it does not recompile the compiled optimizer step
        for group in opt.param_groups:
            group["lr"] = torch.tensor(cfg.lr, device=device)
    gen = torch.Generator(device).manual_seed(cfg.seed)
    x, y = images.to(device), labels.to(device)  # resident for the whole run: 184 MB at most
    steps_per_epoch = len(x) // cfg.batch_size  # drop the last partial batch: constant shapes, no recompiles
    run = _Run(
        method,
        cfg,
        device,
        x,
        y,
        opt,
        gen,
        torch.randperm(len(x), device=device, generator=gen),
        steps_per_epoch,
        max(1, int(cfg.epochs * steps_per_epoch)),
    )
    run.precision = precision if precision is not None else precision_for(device)
    run.scaler = run.precision.grad_scaler(device)
    if resume and checkpoint and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        method.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"].cpu())  # map_location moved it; generator states live on the host
        torch.set_rng_state(state["cpu_rng"].cpu())
        if "cuda_rng" in state and device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)
        if "grad_scaler" in state and run.scaler.is_enabled():
            run.scaler.load_state_dict(state["grad_scaler"])
        run.step, run.elapsed_before, run.history = state["step"], state["elapsed_s"], state["history"]
        run.order = state["order"].to(device)
    return run


def make_step(run: _Run) -> Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]:
    """Stage 2: one optimisation step, step(x, y, lr) -> the loss (detached, on the device).

    Eager: the method draws its randomness from the run's Generator. With `cfg.compile` the whole step is
    compiled, augmentation included: the method draws from the device's default generator (`generator=None`,
    seeded by `cfg.seed`), which torch.compile traces into its graph, and the learning rate is a tensor that
    the compiled optimizer step reads, so neither a draw nor a new rate recompiles or breaks a CUDA graph."""
    method, opt, cfg, scaler = run.method, run.opt, run.cfg, run.scaler
    autocast = run.precision.autocast(run.device)  # bf16, fp16 or none: the device's rule (see `setup`)
    loss_fn = torch.compile(method.training_loss) if cfg.compile else method.training_loss
    opt_step = torch.compile(opt.step) if cfg.compile else opt.step

    def step(x: torch.Tensor, y: torch.Tensor, lr: float) -> torch.Tensor:
        for group in opt.param_groups:
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr
        with autocast:
            loss = loss_fn(x, y, None if cfg.compile else run.gen)
        opt.zero_grad(set_to_none=True)
        if scaler is not None and scaler.is_enabled():  # float16: scale the loss so small gradients survive
            scaler.scale(loss).backward()
            scaler.step(opt)  # unscales first; skips the step when a gradient overflowed
            scaler.update()
        else:
            loss.backward()
            opt_step()
        return loss.detach().float()

    return step


def _check_finite(loss: float, run: _Run, lr: float) -> None:
    if not math.isfinite(loss):
        raise TrainingDiverged(
            f"the loss became {loss} around step {run.step} (epoch {run.step / run.steps_per_epoch:.2f}, "
            f"learning rate {lr:.3g}). Lower the learning rate, or check that the loss function "
            "returns a finite scalar on this batch."
        )


def train(
    method: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    cfg: TrainConfig = TrainConfig(),
    device: torch.device | str | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    checkpoint_every_s: float = 120.0,
    on_log: Callable[[dict], None] | None = None,
    precision: Precision | None = None,
) -> TrainResult:
    """Train `method` on (images, labels) until `cfg.epochs` or `cfg.minutes` runs out.

    Shape: images (N, 3, H, W) uint8, labels (N,) int64.
    With `checkpoint`, the full training state is saved there periodically and at the end; `resume=True`
    continues from it. `on_log(record)` is called with each history record (every `cfg.nan_check_every`
    steps), e.g. to probe the features during a run; its own time is not counted as training time.
    An existing checkpoint is never overwritten unless `overwrite=True`. `precision`: bf16 autocast on GPUs
    that have bf16 units, fp16 with a gradient scaler on older ones, float32 elsewhere, unless given
    (`sslcourse.device.precision_for`; evaluation follows the same rule).
    The stages, as MAE's engine_pretrain reads: `setup` (and resume), `make_step`, then this loop, which
    sets the rate, steps, and every `nan_check_every` steps logs and checkpoints.
    """
    from tqdm.auto import tqdm

    from sslcourse.device import pick_device

    checkpoint = Path(checkpoint) if checkpoint else None
    _check_inputs(images, labels, cfg, checkpoint, resume, overwrite)
    device = pick_device(device, verbose=False) if device is None or isinstance(device, str) else device
    run = setup(method, images, labels, cfg, device, checkpoint, resume, precision)
    step_fn = make_step(run)
    method.train()

    budget_s = cfg.minutes * 60 if cfg.minutes else None
    start_step, n, bs = run.step, len(run.x), cfg.batch_size
    t0 = time.perf_counter() - run.elapsed_before
    last_save = time.perf_counter()
    loss_sum = torch.zeros((), device=device)
    since_check, stopped_by, last_loss, lr_now = 0, "epochs", float("nan"), cfg.lr
    bar = tqdm(total=run.total_steps, initial=run.step, disable=not progress, desc=type(method).__name__, unit="step")
    while run.step < run.total_steps:
        elapsed = time.perf_counter() - t0
        if budget_s is not None and elapsed >= budget_s:
            stopped_by = "time"
            break
        frac = run.step / run.total_steps if budget_s is None else max(run.step / run.total_steps, elapsed / budget_s)
        lr_now = cfg.lr * lr_factor(frac, cfg.warmup)
        i = run.step % run.steps_per_epoch
        if i == 0 and run.step > 0:
            run.order = torch.randperm(n, device=device, generator=run.gen)
        idx = run.order[i * bs : (i + 1) * bs]
        loss_sum += step_fn(run.x[idx], run.y[idx], lr_now)
        since_check += 1
        run.step += 1

        if since_check == cfg.nan_check_every or run.step == run.total_steps:  # stage 3: log and checkpoint
            last_loss = loss_sum.item() / since_check  # the only host sync in the loop
            _check_finite(last_loss, run, lr_now)
            elapsed = time.perf_counter() - t0
            run.history.append(
                {
                    "step": run.step,
                    "epoch": run.step / run.steps_per_epoch,
                    "loss": last_loss,
                    "lr": lr_now,
                    "elapsed_s": elapsed,
                }
            )
            if on_log is not None:
                t_log = time.perf_counter()
                on_log(run.history[-1])
                method.train()  # a probe may have switched modes
                t0 += time.perf_counter() - t_log  # the budget and the schedule count training time only
            bar.update(since_check)
            bar.set_postfix(loss=f"{last_loss:.4f}", img_s=f"{run.step * bs / max(elapsed, 1e-9):.0f}")
            loss_sum.zero_()
            since_check = 0
            if checkpoint and time.perf_counter() - last_save > checkpoint_every_s:
                save_checkpoint(checkpoint, run.snapshot(elapsed))
                last_save = time.perf_counter()
    bar.close()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    if checkpoint:
        save_checkpoint(checkpoint, run.snapshot(seconds))
    method.eval()
    return TrainResult(
        steps=run.step,
        epochs=run.step / run.steps_per_epoch,
        seconds=seconds,
        samples_per_s=(run.step - start_step) * bs / max(seconds - run.elapsed_before, 1e-9),
        final_loss=last_loss,
        stopped_by=stopped_by,
        history=run.history,
        precision=run.precision.name,
    )
