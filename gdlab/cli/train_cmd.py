"""`gdlab train`, `gdlab validate`, `gdlab schema`: parse arguments, call plain functions, print."""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from gdlab.cli.app import RunsOption, command, fail, runs_folder
from gdlab.errors import EXIT_OK, GdlabError

ConfigArg = Annotated[Path, typer.Argument(help="YAML config file", show_default=False)]
# Errors found after the schema (data, shapes, device) start with the config key they are about.
_CONFIG_KEY = re.compile(r"^((?:name|seed|data|model|loss|optimizer|scheduler|train)(?:\.\w+|\[\d+\])*):\s")
# A shape error names a second layer too (`model[2]: ... but model[0] (Linear) outputs 4`): one can be the cause.
_LAYER_REF = re.compile(r"\bmodel\[(\d+)\]")


def in_config(config: Path, exc: GdlabError, overrides: list[str] | None = None) -> GdlabError:
    """Name the config file in an error about the config's content, and the overrides that set the key in error
    or one it also blames (`exc.also`): the last that set it or a key above it, and later ones inside it."""
    m = _CONFIG_KEY.match(exc.message)
    if not m or exc.message.startswith(f"{config}:"):  # named already: model.yaml's own errors read like a key's
        return exc
    from gdlab.config.overrides import parse_override, responsible
    from gdlab.loading import with_overrides

    applied = [(parse_override(text)[0], text) for text in overrides or []]
    key = tuple(int(p) if p.isdecimal() else p for p in re.split(r"\.|\[|\]\.?", m.group(1)) if p)
    named = {text for k in (key, *exc.also) for text in responsible(k, applied)}
    cited = [text for _, text in applied if text in named]  # in the order given
    if not cited:  # the cause of a shape error can be the other layer it names
        cited = [t for i in _LAYER_REF.findall(exc.message[m.end():]) for t in responsible(("model", int(i)), applied)]
    return GdlabError(f"{config}{with_overrides(cited)}: {exc.message}", exc.exit_code, exc.also)


OverridesArg = Annotated[Optional[list[str]], typer.Argument(help="dotted overrides, e.g. optimizer.lr=0.05", show_default=False)]


@command("train")
def train_command(
    config: Annotated[Optional[Path], typer.Argument(help="YAML config file (omit with --resume)", show_default=False)] = None,
    overrides: OverridesArg = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="continue a run folder from its last checkpoint")] = None,
    run_dir: Annotated[Optional[str], typer.Option("--run-dir", help="exact output folder (new or empty)")] = None,
    runs_root: RunsOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print only the run folder")] = False,
    smoke: Annotated[bool, typer.Option("--smoke", help="a handful of steps, files read back; in a temp folder removed if it passes (kept if not), or kept where --run-dir/--runs say (CI)")] = False,
    expect: Annotated[Optional[list[str]], typer.Option("--expect", help="a bar to meet, e.g. 'final_val_loss<0.3'; exit 1 if missed")] = None,
) -> None:
    """Train a config; write a run folder with metrics.csv, summary.json and model.pt."""
    from gdlab.cli.streams import live_display, output_console

    from gdlab.expect import check_applicable, parse_expectations
    from gdlab.loading import load_config

    placed = runs_root is not None or run_dir is not None  # a smoke run trains where it is told, and is kept there
    runs_root = runs_folder(runs_root, run_dir)
    expectations = parse_expectations(expect or [])
    if smoke and expectations:  # a bar judged on 5 steps says nothing, and a missed one kept the temp folder
        raise GdlabError("--smoke with --expect: a smoke run trains a handful of steps, too few for a bar on the "
                         "trained model; check the bars on a full run, and the files with --smoke")
    if resume is not None:
        if config is not None or overrides or smoke or placed:  # --runs too: it would be ignored
            raise GdlabError("--resume takes the run folder only: its config.yaml and checkpoint say how to go on")
        from gdlab.train import resume_folder

        config = resume_folder(resume) / "config.yaml"  # a missing or wrong folder is named as such
    elif config is None:
        raise GdlabError("train: give a config file (or --resume RUN_DIR)")
    cfg = load_config(config, overrides or [])
    check_applicable(expectations, cfg, resuming=resume is not None)
    from gdlab.smoke import smoke as smoke_config
    from gdlab.train import train

    made_tmp = smoke and not placed
    run_dir = Path(tempfile.mkdtemp(prefix=f"gdlab-smoke-{cfg.name}-")) if made_tmp else run_dir
    console = output_console()
    bar = None
    if not quiet and live_display(console):
        from gdlab.cli.progress import TrainProgress

        bar = TrainProgress(console, cfg.name)
    try:
        start = (lambda folder, total: bar.start(total)) if bar else None
        if resume is not None:
            from gdlab.train import resume as resume_run

            result = resume_run(resume, observers=[bar] if bar else [], expect=expectations, on_start=start)
        else:
            # a smoke run refuses what the full run would, then trains its few steps on the data it loaded
            run_cfg, data = smoke_config(cfg) if smoke else (cfg, None)
            result = train(run_cfg, run_dir=run_dir, runs_root=runs_root, overrides=overrides or [],
                           observers=[bar] if bar else [], expect=expectations, on_start=start, data=data,
                           notes=not smoke)
    except GdlabError as exc:
        if made_tmp and run_dir.exists() and not any(run_dir.iterdir()):
            run_dir.rmdir()  # a run that never started leaves no folder
        raise in_config(config, exc, overrides) from None
    finally:
        if bar:
            bar.stop()
    s = result.summary
    from gdlab.cli.progress import summary_table
    from gdlab.cli.run_notes import note_eager_steps, note_rising_losses, note_unsettled_sharpness

    if not quiet:
        from gdlab.cli.sharpness_view import run_rows

        scheduler = cfg.scheduler.model_dump() if cfg.scheduler else None
        console.print(summary_table(s, run_rows(result.run_dir, cfg.optimizer.model_dump(), scheduler)))
    note_eager_steps([s])
    note_rising_losses([(s["name"], result.run_dir, s, cfg.has_dropout)])
    note_unsettled_sharpness([s], cfg.train.sharpness_iters)
    if s["status"] == "failed":
        sys.stdout.write(f"{result.run_dir}\n")
        raise fail(f"training failed: {s['error']} (details in {result.run_dir / 'error.log'})", result.exit_code)
    if s["status"] == "diverged":
        factor = cfg.train.diverge_factor  # null: only a non-finite loss counts
        why = "loss non-finite" + (f" or above train.diverge_factor ({factor:g}) x max(first loss, 1)" if factor else "")
        sys.stderr.write(f"gdlab: diverged at step {s['diverged_at_step']} ({why}); rows so far are kept\n")
    if s["status"] == "interrupted":  # its checkpoint is written: say how to go on
        import shlex  # a command to paste: 'runs/sp ace' quoted

        sys.stderr.write(f"gdlab: interrupted after step {s['steps']}; continue with: "
                         f"gdlab train --resume {shlex.quote(str(result.run_dir))}\n")
    for msg in result.failures:
        sys.stderr.write(f"gdlab: expectation failed: {msg}\n")
    if smoke and result.exit_code == EXIT_OK:  # read back in --run-dir too: keeping the folder is no pass
        from gdlab.smoke import check_smoke_files

        try:
            check_smoke_files(cfg, result.run_dir)
        except GdlabError:
            sys.stdout.write(f"{result.run_dir}\n")  # kept to look into, named last as a diverged one's is
            raise
        kept = "temp folder removed (give --run-dir or --runs to keep one)" if made_tmp else "folder kept"
        if not quiet:
            sys.stderr.write(f"gdlab: smoke run ok: trained, wrote and read back its files; {kept}\n")
        if made_tmp:  # a passing smoke run leaves nothing behind in /tmp
            shutil.rmtree(result.run_dir, ignore_errors=True)
            return
    sys.stdout.write(f"{result.run_dir}\n")  # the last line is the run folder, for scripts
    if result.exit_code != EXIT_OK:
        raise typer.Exit(result.exit_code)
