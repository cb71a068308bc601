"""Regenerate the README figures in docs/img/ through the real CLI (`python -m gdlab ...`).

    python scripts/make_figures.py            # or: make figures
    python scripts/make_figures.py --out /tmp/figs --keep

Every run and sweep goes into a temporary folder; only the PNGs are copied out. The configs are seeded,
so the figures change only when gdlab's training or plotting does. Takes well under a minute on a laptop CPU.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 200_000  # keep the repository light: a README figure over this is reported
FIGURES = ("loss_curve.png", "lr_sweep.png", "boundary.png", "boundary_snapshots.png")


def gdlab(*args: object) -> None:
    """Run one gdlab command from the repository root; stop with its stderr if it fails."""
    command = [sys.executable, "-m", "gdlab", *map(str, args)]
    print("$ gdlab", shlex.join(map(str, args)), flush=True)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"make_figures: `gdlab {shlex.join(map(str, args))}` exited {done.returncode}:\n{done.stderr}")
    for line in done.stderr.splitlines():  # warnings, e.g. from `plot`
        print("  " + line, file=sys.stderr)


def shrink(source: Path, target: Path) -> int:
    """Copy a PNG as a 256-colour palette image (these figures have few colours, so it looks the same at
    a third of the bytes); a plain copy when Pillow, which matplotlib depends on, is somehow missing."""
    try:
        from PIL import Image
    except ImportError:
        shutil.copyfile(source, target)
        return target.stat().st_size
    with Image.open(source) as image:
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    temp = target.with_name(f".{target.name}.tmp")
    palette.save(temp, format="PNG", optimize=True)
    temp.replace(target)
    return target.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="where the PNGs go (default docs/img)")
    parser.add_argument("--dpi", type=int, default=100, help="image resolution (default 100)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary run folders and print where")
    options = parser.parse_args()

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="gdlab-figures-"))
    dpi = ["--dpi", options.dpi]
    try:
        # 1. The loss curve of the quickstart demo (300 full-batch Adam steps on two moons).
        gdlab("train", "configs/quickstart.yaml", "--run-dir", work / "quickstart", "-q")
        gdlab("plot", work / "quickstart", "-o", work / "loss_curve.png", *dpi)

        # 2. The learning-rate sweep, shortened to 100 epochs. diverge_factor=100 calls a loss above 100x the
        #    first one diverged (the default, 1e4, lets plain GD at lr 1000 bounce around a loss of ~1e3 for
        #    the whole run), so the largest learning rates end early and show as ✕ on the sensitivity panel.
        gdlab("sweep", "configs/lr_sweep.yaml", "train.epochs=100", "train.diverge_factor=100",
              "--run-dir", work / "lr_sweep", "-q")
        gdlab("plot", work / "lr_sweep", "-o", work / "lr_sweep.png", *dpi,
              "--title", "lr-sweep: full-batch GD on two moons, 100 epochs, 2 seeds per lr")

        # 3. The decision regions of the spiral MLP after its full run ...
        gdlab("train", "configs/spiral.yaml", "--run-dir", work / "spiral", "-q")
        gdlab("plot", work / "spiral", "--boundary", "-o", work / "boundary.png", *dpi)
        # ... and while it learns: a 40-epoch run saving its weights every 20 steps (evenly chosen panels of
        # the full 1950-step run would show a finished spiral in all but the first).
        gdlab("train", "configs/spiral.yaml", "train.epochs=40", "train.snapshot_every=20",
              "--run-dir", work / "spiral_40", "-q")
        gdlab("plot", work / "spiral_40", "--boundary", "-o", work / "spiral_40.png", *dpi,
              "--title", "spiral-adam, 40 epochs")
        (work / "spiral_40_snapshots.png").replace(work / "boundary_snapshots.png")

        options.out.mkdir(parents=True, exist_ok=True)
        for name in FIGURES:
            size = shrink(work / name, options.out / name)
            note = f"  (over {MAX_BYTES // 1000} KB: lower --dpi)" if size > MAX_BYTES else ""
            print(f"wrote {options.out / name}  {size / 1000:.0f} KB{note}")
    finally:
        if options.keep:
            print(f"kept the runs in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
