"""A run's saved weights, model.pt and snapshots/step_<N>.pt, loaded as plain tensors: a model file
that holds pickled Python objects is refused, since loading it fully could run code."""

from __future__ import annotations

import errno
import re
from pathlib import Path
from typing import Any

import numpy as np

from gdlab.errors import GdlabError, first_sentence
from gdlab.run_cleanup import SNAPSHOT_NAME

MAX_SNAPSHOTS = 6  # snapshots a boundary figure shows at most


def load_weights(path: Path) -> dict[str, Any]:
    """A state_dict from a .pt file, refusing anything but tensors (torch.load weights_only=True)."""
    import pickle
    import warnings

    import torch

    if not path.exists():
        raise GdlabError(f"{path}: no such file; the run has no saved model (model.pt is written when training ends)")
    if not path.is_file():
        raise GdlabError(f"{path}: not a file (expected a torch state_dict)")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols; the error below says it all
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if _refused(exc, path):
            raise GdlabError(
                f"{path}: refused to load: {load_problem(exc, path)}; "
                "gdlab loads weights with torch.load(weights_only=True) so that a model file cannot run code"
            ) from None
        raise GdlabError(f"{path}: not a readable torch state_dict (not a torch file)") from None
    except Exception as exc:  # a truncated zip, random bytes, a directory...: torch raises many types
        raise GdlabError(f"{path}: not a readable torch state_dict ({load_problem(exc, path)})") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise GdlabError(f"{path}: expected a state_dict (names -> tensors), got {type(state).__name__}")
    return state


def _looks_pickled(path: Path) -> bool:
    """A torch zip archive, or a bare pickle of protocol 2 or later (b'\\x80' then the protocol number)."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(4)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5)


def load_problem(exc: BaseException, path: Path) -> str:
    """Why torch.load(weights_only=True) failed, in a short clause: what the unpickler refused, else the
    first sentence of torch's message (its later ones tell how to load the file unsafely)."""
    if _refused(exc, path):
        return f"it holds pickled Python objects, not only tensors ({_refusal(str(exc))})"
    if not _looks_pickled(path):  # random bytes or an empty file: torch's KeyError or EOFError says nothing useful
        return "not a torch file"
    # A torch zip cut short (a copy or write that stopped): torch names its zip reader's internals, or gives
    # OSError "Invalid argument" when the cut falls in the last records.
    if isinstance(exc, EOFError) or getattr(exc, "errno", None) == errno.EINVAL or "PytorchStreamReader" in str(exc):
        return "truncated or not a torch file"
    return f"{type(exc).__name__}: {first_sentence(str(exc)) or 'no message'}"


def _refused(exc: BaseException, path: Path) -> bool:
    """The weights-only unpickler refused a global it does not know: the file would run code if loaded fully."""
    import pickle

    return isinstance(exc, pickle.UnpicklingError) and ("GLOBAL" in str(exc) or _looks_pickled(path))


def _refusal(text: str) -> str:
    """What the weights-only unpickler objected to, in a few words."""
    match = re.search(r"GLOBAL ([\w.]+)", text)
    if match:
        return f"it calls {match[1]}"
    match = re.search(r"Unsupported operand (\d+)", text)
    return f"pickle opcode {match[1]} is not allowed" if match else "the weights-only unpickler refused it"


def check_fits(state: dict, model, path: Path) -> None:
    """The state_dict has exactly `model`'s tensors (an nn.Module), with their shapes; else one line saying
    what differs."""
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    wrong = [f"{k} is {list(state[k].shape)}, not {list(shape)}" for k, shape in expected.items()
             if k in state and tuple(state[k].shape) != shape]
    problems = ([f"missing {', '.join(missing[:4])}"] if missing else []) + \
               ([f"unexpected {', '.join(extra[:4])}"] if extra else []) + wrong[:3]
    if problems:
        raise GdlabError(f"{path}: does not fit the model in config.yaml: {'; '.join(problems)}")


def snapshot_files(folder: Path) -> dict[int, Path]:
    """{step: path} for the run's snapshots/step_<N>.pt files (none when there is no such folder)."""
    found: dict[int, Path] = {}
    directory = folder / "snapshots"
    if directory.is_dir():
        for path in directory.iterdir():
            match = SNAPSHOT_NAME.fullmatch(path.name)
            if match and path.is_file():
                found[int(match[1])] = path
    return found


def choose_snapshots(steps: list[int], limit: int = MAX_SNAPSHOTS) -> list[int]:
    """Up to `limit` of the sorted steps, evenly spread, always keeping the first and the last."""
    steps = sorted(set(steps))
    if len(steps) <= limit:
        return steps
    picks = np.linspace(0, len(steps) - 1, limit).round().astype(int)
    return [steps[i] for i in sorted(set(picks.tolist()))]
