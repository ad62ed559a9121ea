"""The demo models: built, trained with a fixed seed, and cached on disk as ``.npz``.

Each ``*_model`` function returns a :class:`DemoModel`: the torch module (eval mode), its
calibration batches, and an ``evaluate`` function (test accuracy for the digits models,
perplexity for the transformer). Trained weights are cached under ``$QEVO_CACHE_DIR/models``
(default ``~/.cache/qevo/models``) in ``.npz`` files (never pickle), keyed by the model's
configuration, the training data's hash, the seed and the torch version; the cache is read
with ``allow_pickle=False`` and checked against the model's own parameter names and shapes.
torch is imported when a function is called (``require("torch", "torch")``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import sysconfig
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qevo_ir.atomic import atomic_write_bytes
from qevo_ir.blocks.digits_demo import _single_threaded_blas, load_digits_split, train_mlp
from qevo_ir.errors import ValidationError
from qevo_ir.plugins import require

__all__ = [
    "CORPUS_FILES",
    "DemoModel",
    "TransformerConfig",
    "build_transformer",
    "cache_dir",
    "cnn_model",
    "corpus",
    "mlp_model",
    "single_threaded",
    "transformer_model",
]

CORPUS_FILES = (
    "textwrap.py",
    "heapq.py",
    "fractions.py",
    "difflib.py",
    "argparse.py",
    "string.py",
    "calendar.py",
    "functools.py",
    "statistics.py",
    "dataclasses.py",
)
"""Standard-library files (``sysconfig.get_paths()["stdlib"]``) concatenated as the corpus."""

VOCAB = 128  # ASCII; any other character becomes "?"


@dataclass(frozen=True, eq=False)
class DemoModel:
    """A trained demo model, what calibrates it, and how it is scored.

    ``metric`` names what ``evaluate(model)`` returns (``"accuracy"``: higher is better;
    ``"perplexity"``: lower is better); ``float_score`` is the float model's score;
    ``train_seconds`` is 0 when the weights came from the cache.
    """

    name: str
    model: Any
    calibration: list[Any]
    evaluate: Callable[[Any], float]
    metric: str
    float_score: float
    train_seconds: float
    description: str


def cache_dir() -> Path:
    """``$QEVO_CACHE_DIR/models``, or ``~/.cache/qevo/models``."""
    root = os.environ.get("QEVO_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "qevo"
    return base / "models"


def _key(torch: Any, payload: dict[str, Any]) -> str:
    payload = payload | {"torch": ".".join(str(torch.__version__).split(".")[:2])}
    text = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _save_state(model: Any, path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, tensor in model.state_dict().items():
            with zf.open(f"{name}.npy", "w") as member:
                arr = np.ascontiguousarray(tensor.detach().cpu().numpy())
                np.lib.format.write_array(member, arr, allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())


def _load_state(torch: Any, model: Any, path: Path) -> bool:
    """Load cached weights into ``model``; ``False`` (and the model untouched) if the file is
    missing or does not match the model's parameter names, shapes and dtypes."""
    if not path.exists():
        return False
    expected = model.state_dict()
    try:
        with np.load(path, allow_pickle=False) as npz:  # noqa: TID251 (reviewed reader)
            if set(npz.files) != set(expected):
                return False
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile):
        return False
    for k, ref in expected.items():
        a = arrays[k]
        if a.shape != tuple(ref.shape) or a.dtype != ref.detach().cpu().numpy().dtype:
            return False
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            return False
    model.load_state_dict({k: torch.from_numpy(np.array(a)) for k, a in arrays.items()})
    return True


def _cached(
    torch: Any, model: Any, name: str, payload: dict[str, Any], train: Callable[[], None]
) -> float:
    """Load ``model``'s weights from the cache, or run ``train`` and cache them; seconds spent
    training (0 for a cache hit)."""
    path = cache_dir() / f"{name}-{_key(torch, payload)}.npz"
    if _load_state(torch, model, path):
        return 0.0
    start = time.perf_counter()
    train()
    seconds = time.perf_counter() - start
    _save_state(model, path)
    return seconds


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """One torch thread and one BLAS thread (restored afterwards): these models are small, and
    on the shared 2-core machine a transformer training step was measured 9x slower with two
    torch threads (1.48 s) than with one (0.16 s)."""
    torch: Any = require("torch", "torch")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _single_threaded_blas():
            yield
    finally:
        torch.set_num_threads(previous)


# ------------------------------------------------------------------------------- digits


def mlp_model(seed: int = 0, calibration_images: int = 512) -> DemoModel:
    """The digits demo's 64-32-10 ReLU MLP (trained in numpy, about a second) as torch layers.

    Calibration: ``calibration_images`` training images; score: test accuracy.
    """
    torch: Any = require("torch", "torch")
    data = load_digits_split(seed)
    layers = train_mlp(data.x_train, data.y_train, (64, 32, 10), steps=300, seed=seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
    ).double()
    with torch.no_grad():
        for module, (w, b) in zip((model[0], model[2]), layers, strict=True):
            module.weight.copy_(torch.from_numpy(w))
            module.bias.copy_(torch.from_numpy(b))
    model.train(False)  # eval mode (spelled so no "eval" call appears in the source)
    x_test = torch.from_numpy(data.x_test)
    y_test = torch.from_numpy(data.y_test)
    evaluate = _accuracy(torch, x_test, y_test)
    calib = [torch.from_numpy(data.x_train[:calibration_images])]
    return DemoModel(
        "mlp",
        model,
        calib,
        evaluate,
        "accuracy",
        evaluate(model),
        0.0,
        f"digits MLP 64-32-10 (float64), {len(data.y_train)} train / {len(data.y_test)} test",
    )


def _accuracy(torch: Any, x: Any, y: Any) -> Callable[[Any], float]:
    def evaluate(model: Any) -> float:
        with torch.no_grad():
            return float((model(x).argmax(dim=1) == y).double().mean())

    return evaluate


def cnn_model(seed: int = 0, calibration_images: int = 256) -> DemoModel:
    """A small CNN on the 8x8 digits: conv 1→8 (3x3, pad 1), ReLU, conv 8→16 (3x3, pad 1),
    ReLU, 2x2 average pool, linear 256→10. Full-batch Adam, 150 steps, seed fixed; cached."""
    torch: Any = require("torch", "torch")
    data = load_digits_split(seed)
    xt = torch.from_numpy(data.x_train.reshape(-1, 1, 8, 8)).float()
    yt = torch.from_numpy(data.y_train)
    xs = torch.from_numpy(data.x_test.reshape(-1, 1, 8, 8)).float()
    ys = torch.from_numpy(data.y_test)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16 * 4 * 4, 10),
    )
    steps = 150

    def train() -> None:
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(steps):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xt), yt)
            loss.backward()
            opt.step()

    digest = hashlib.sha256(data.x_train.tobytes() + data.y_train.tobytes()).hexdigest()
    payload = {"model": "cnn-8-16-256-10", "steps": steps, "seed": seed, "data": digest}
    seconds = _cached(torch, model, "cnn", payload, train)
    model.train(False)  # eval mode (spelled so no "eval" call appears in the source)
    evaluate = _accuracy(torch, xs, ys)
    return DemoModel(
        "cnn",
        model,
        [xt[:calibration_images]],
        evaluate,
        "accuracy",
        evaluate(model),
        seconds,
        "digits CNN conv(1→8)-conv(8→16)-pool-linear(256→10)",
    )


# ------------------------------------------------------------------------------- text


def corpus() -> str:
    """The concatenated standard-library files of :data:`CORPUS_FILES`, as ASCII."""
    root = Path(sysconfig.get_paths()["stdlib"])
    parts = []
    for name in CORPUS_FILES:
        path = root / name
        try:
            parts.append(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValidationError(
                f"the transformer demo reads {path} from this Python's standard library, and "
                f"it cannot be read ({exc.strerror or exc})"
            ) from None
    text = "\n".join(parts)
    return "".join(c if ord(c) < VOCAB else "?" for c in text)


@dataclass(frozen=True)
class TransformerConfig:
    """A GPT-style character model: pre-norm blocks of causal self-attention and an MLP."""

    d_model: int = 64
    layers: int = 2
    heads: int = 4
    context: int = 64
    vocab: int = VOCAB


def build_transformer(config: TransformerConfig, seed: int = 0) -> Any:
    """An untrained :class:`TransformerConfig` model (``torch.nn.Module``), weights from ``seed``.

    Every weight matrix is a ``torch.nn.Linear`` (``blocks.{i}.qkv``, ``.proj``, ``.ff1``,
    ``.ff2`` and ``head``), so :func:`~qevo_ir.blocks.quantize_model` rounds all of them;
    embeddings and layer norms stay in float. Input: token ids ``(batch, time)``; output:
    logits ``(batch, time, vocab)``.
    """
    torch: Any = require("torch", "torch")
    nn = torch.nn
    module_base: Any = nn.Module
    functional = torch.nn.functional

    class Block(module_base):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            d = config.d_model
            self.ln1 = nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d)
            self.ff1 = nn.Linear(d, 4 * d)
            self.ff2 = nn.Linear(4 * d, d)

        def forward(self, x: Any) -> Any:
            b, t, d = x.shape
            h = config.heads
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
            att = functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(att.transpose(1, 2).reshape(b, t, d))
            return x + self.ff2(functional.gelu(self.ff1(self.ln2(x))))

    class CharTransformer(module_base):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(config.vocab, config.d_model)
            self.position = nn.Embedding(config.context, config.d_model)
            self.blocks = nn.ModuleList([Block() for _ in range(config.layers)])
            self.ln = nn.LayerNorm(config.d_model)
            self.head = nn.Linear(config.d_model, config.vocab)

        def forward(self, ids: Any) -> Any:
            pos = torch.arange(ids.shape[1], device=ids.device)
            x = self.embed(ids) + self.position(pos)
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln(x))

    torch.manual_seed(seed)
    return CharTransformer()


def transformer_model(
    seed: int = 0,
    config: TransformerConfig | None = None,
    *,
    steps: int = 800,
    calibration_sequences: int = 32,
    test_sequences: int = 256,
) -> DemoModel:
    """The character transformer trained on :func:`corpus` (first 90%; the rest is the test
    text): AdamW, batch 32, ``steps`` steps, cosine learning rate from 3e-3, seed fixed, cached.

    Calibration: ``calibration_sequences`` random training windows of ``context`` characters;
    score: perplexity (per character) on ``test_sequences`` consecutive test windows.
    """
    torch: Any = require("torch", "torch")
    cfg = config or TransformerConfig()
    text = corpus()
    ids = np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.int64)
    split = int(0.9 * len(ids))
    train_ids = torch.from_numpy(ids[:split])
    test_ids = ids[split:]
    model = build_transformer(cfg, seed)
    ctx = cfg.context
    gen = torch.Generator().manual_seed(seed)

    def windows(n: int) -> Any:
        starts = torch.randint(0, len(train_ids) - ctx - 1, (n,), generator=gen)
        return torch.stack([train_ids[s : s + ctx + 1] for s in starts.tolist()])

    def train() -> None:
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, steps) / steps))
        )
        model.train()
        for _ in range(steps):
            batch = windows(32)
            logits = model(batch[:, :-1])
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, cfg.vocab), batch[:, 1:].reshape(-1)
            )
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()

    payload = {
        "model": "char-transformer",
        "config": cfg.__dict__,
        "steps": steps,
        "seed": seed,
        "data": hashlib.sha256(text.encode()).hexdigest(),
    }
    seconds = _cached(torch, model, "transformer", payload, train)
    model.train(False)  # eval mode (spelled so no "eval" call appears in the source)
    n_test = min(test_sequences, (len(test_ids) - 1) // ctx)
    test = torch.from_numpy(test_ids[: n_test * ctx + 1])
    inputs = test[:-1].reshape(n_test, ctx)
    targets = test[1:].reshape(n_test, ctx)

    def evaluate(m: Any) -> float:
        with torch.no_grad():
            logits = m(inputs)
            flat = logits.reshape(-1, cfg.vocab)
            loss = torch.nn.functional.cross_entropy(flat, targets.reshape(-1))
        return float(math.exp(float(loss)))

    calib_gen = torch.Generator().manual_seed(seed + 1)
    starts = torch.randint(0, len(train_ids) - ctx, (calibration_sequences,), generator=calib_gen)
    calib = torch.stack([train_ids[s : s + ctx] for s in starts.tolist()])
    params = sum(p.numel() for p in model.parameters())
    return DemoModel(
        "transformer",
        model,
        [calib],
        evaluate,
        "perplexity",
        evaluate(model),
        seconds,
        f"char transformer d={cfg.d_model}, {cfg.layers} layers, {cfg.heads} heads, context "
        f"{cfg.context}, {params:,} parameters; corpus {len(text):,} characters of stdlib source",
    )
