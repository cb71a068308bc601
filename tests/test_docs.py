"""The docs against the program: every ```bash block in docs/concepts.md runs as written (outputs redirected to
a temp folder); make names the Python it needs; and what README.md and concepts.md say of files, columns, keys,
options, configs and quoted outputs is what gdlab writes, takes and prints."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "concepts.md"
BLOCKS = re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S) if DOC.exists() else []


def test_the_walkthrough_has_commands():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_docs_block_runs(tmp_path, block):
    script = "set -euo pipefail\n" + block.replace("/tmp/gdlab-concepts", str(tmp_path))
    # one torch thread per command: under a loaded CI machine two threads thrash (seen: 3 s vs 100 s)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{block}\n--- stdout\n{done.stdout[-2000:]}\n--- stderr\n{done.stderr[-2000:]}"


@pytest.mark.skipif(not shutil.which("make"), reason="no make here")
@pytest.mark.parametrize("goal", ["demo", "test"])
def test_make_with_a_python_older_than_3_11_says_which_to_name_and_makes_no_venv(tmp_path, goal):
    """A venv made by Python 3.10 stays in .venv and fails every install after it, with pip's words."""
    old = tmp_path / "python3.10"
    old.write_text('#!/bin/sh\n[ "$1" = "--version" ] && { echo "Python 3.10.12"; exit 0; }\nexit 1\n')
    old.chmod(0o755)
    venv = tmp_path / "venv"
    done = subprocess.run(["make", "-s", "-C", str(ROOT), goal, f"PYTHON={old}", f"VENV={venv}"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and not venv.exists()
    assert f"gdlab needs Python 3.11 or newer; '{old}' is Python 3.10.12. Name another: make {goal} PYTHON=python3.12" \
        in done.stdout, done.stdout + done.stderr


README = ROOT / "README.md"


def test_readmes_rounding_examples_are_what_gdlab_and_numpy_give():
    """The Axes bullet shows what rounding to 12 digits buys with examples `f(args)` gives X where numpy gives Y;
    (or "gives X, not Y"); each must hold for gdlab and for numpy, at the same position (its first example once quoted a value numpy
    never gave)."""
    import numpy as np

    from gdlab.sweep.axis_values import expand_function

    text = " ".join(README.read_text(encoding="utf-8").split())
    examples = re.findall(r"`(linspace|logspace|range)\(([^)]*)\)` gives ([0-9.e+-]+),? (?:not|where numpy\.\w+ gives) ([0-9.e+-]+)", text)
    assert len(examples) >= 2, "the README's rounding examples are gone; update this test"
    numpy_of = {"linspace": lambda a, b, n: np.linspace(a, b, int(n)), "logspace": lambda a, b, n: np.logspace(a, b, int(n)),
                "range": np.arange}
    for kind, args, ours, theirs in examples:
        numbers = [float(x) for x in args.split(",")]
        mine, numpys = expand_function(f"{kind}({args})", "README"), [float(x) for x in numpy_of[kind](*numbers)]
        at = mine.index(float(ours))
        assert repr(numpys[at]) == theirs and repr(mine[at]) == ours, (kind, args, mine[at], numpys[at])


def _shipped_configs_table() -> dict[str, str]:
    """README's "Shipped configs" table: config path -> what it says the config shows."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Shipped configs", 1)[1].split("\n#", 1)[0] if "### Shipped configs" in text else ""
    return dict(re.findall(r"^\| `(configs/[\w.-]+\.yaml)` \| (.*) \|$", section, re.M))


def test_the_readme_names_every_shipped_config_and_no_other():
    assert sorted(_shipped_configs_table()) == sorted(f"configs/{p.name}" for p in (ROOT / "configs").glob("*.yaml"))


@pytest.mark.parametrize("name", ["quickstart", "iris", "spiral"])
def test_a_shipped_classifier_reaches_the_val_accuracy_the_readme_quotes(tmp_path, name):
    from tests.helpers import invoke

    quoted = re.search(r"val accuracy ([0-9.]+)", _shipped_configs_table().get(f"configs/{name}.yaml", ""))
    assert quoted, f"the README quotes no val accuracy for configs/{name}.yaml"
    result = invoke("train", ROOT / "configs" / f"{name}.yaml", "train.device=cpu", "--run-dir", tmp_path / "run", "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["final_val_accuracy"] == pytest.approx(float(quoted[1]), abs=0.005)


def _readme_between(start: str, end: str) -> str:
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert start in text, f"the README no longer has {start!r}; update this test"
    return text.split(start, 1)[1].split(end, 1)[0]


def test_the_readmes_smoke_sentence_names_every_setting_smoke_cuts():
    """Each setting `--smoke` changes, found by cutting a config that sets them all, is named where the README
    says what a smoke run trains."""
    from gdlab.smoke import smoke
    from tests.helpers import make_config

    cfg = make_config(**{"train.epochs": 50, "train.eval_every": 7, "train.checkpoint_every": 9,
                         "train.snapshot_every": 20, "train.early_stop_patience": 5,
                         "scheduler": {"name": "OneCycleLR", "interval": "epoch", "pct_start": 0.1}})
    cut, _ = smoke(cfg)
    changed = [f"`train.{key}" for key in type(cfg.train).model_fields if getattr(cut.train, key) != getattr(cfg.train, key)]
    changed += [f"`{key}" for key in type(cfg.scheduler).model_fields
                if getattr(cut.scheduler, key) != getattr(cfg.scheduler, key)]
    assert len(changed) == 8, changed  # epochs, steps, eval_every, checkpoint_every, snapshot_every, patience; 2 of OneCycleLR's
    said = _readme_between("A smoke run refuses", "A smoke run that passes")
    assert [key for key in changed if key not in said] == []


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A tiny run with a sharpness column, a two-variant sweep and an lr-find folder, as the README describes them."""
    import yaml

    from tests.helpers import TINY, invoke

    tmp = tmp_path_factory.mktemp("docs")
    cfg = tmp / "tiny.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "train": {**TINY["train"], "sharpness_every": 5}}))
    for args in (["train", cfg, "--run-dir", tmp / "run"], ["sweep", cfg, "optimizer.lr=0.1,0.2", "--run-dir", tmp / "sweep"],
                 ["lr-find", cfg, "--steps", "10", "--run-dir", tmp / "lrfind"]):
        result = invoke(*args, "-q") if args[0] != "lr-find" else invoke(*args)
        assert result.exit_code == 0, result.output
    return tmp


def _header(path: Path) -> list[str]:
    return path.read_text().splitlines()[0].split(",")


def test_the_readmes_metrics_columns_are_the_files_in_order(written):
    table = _readme_between("**metrics.csv columns**", "**summary.json:**")
    columns = [c for row in re.findall(r"\| (`[^|]+`) \|", table) for c in re.findall(r"`(\w+)`", row)]
    assert columns == _header(written / "run" / "metrics.csv")


def test_the_readmes_summary_keys_are_the_files(written):
    prose = _readme_between("**summary.json:**", "A value that does not apply is `null`")
    named = set(re.findall(r"`([a-z_]+)`", prose)) - {"completed", "diverged", "interrupted", "failed", "pruned", "replayed", "sharpness"}
    assert named == set(json.loads((written / "run" / "summary.json").read_text()))


def test_the_readmes_sweep_csv_columns_are_the_files_in_order(written):
    prose = _readme_between("(columns named by their dotted keys),", "`sweep.csv` is rewritten")
    assert ["optimizer.lr", *re.findall(r"`([a-z_]+)`", prose)] == _header(written / "sweep" / "sweep.csv")


def test_the_readmes_run_files_and_lr_find_columns_are_the_files(written):
    files = set(re.findall(r"^\| `([\w.]+)` \|", README.read_text(encoding="utf-8"), re.M))
    assert {p.name for p in (written / "run").iterdir()} <= files
    columns = re.search(r"`lr_find\.csv` \(`([^`]+)`\)", " ".join(README.read_text(encoding="utf-8").split()))
    assert columns and columns[1].split(", ") == _header(written / "lrfind" / "lr_find.csv")


def test_every_command_line_option_is_in_the_docs():
    """Each option of every command (its long name or its short one) appears in README.md or docs/concepts.md;
    --stop-factor, --grid and gradcheck's --seed were in --help only."""
    import typer

    from gdlab.cli import app

    docs = README.read_text(encoding="utf-8") + DOC.read_text(encoding="utf-8")
    group = typer.main.get_command(app)
    missing = []
    for name, command in group.commands.items():
        for param in command.params:
            names = [*param.opts, *param.secondary_opts]
            if param.param_type_name != "option" or "--help" in names:
                continue
            if not any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", docs) for n in names):
                missing.append(f"gdlab {name} {names[0]}")
    assert not missing


def test_every_option_a_readme_example_gives_is_one_its_command_takes():
    """Each `gdlab CMD ... --opt` line in README's and concepts.md's bash blocks names a command that exists
    and only options that command takes (a renamed option would leave examples that fail)."""
    import itertools
    import shlex

    import typer

    from gdlab.cli import app

    group = typer.main.get_command(app)
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8") + DOC.read_text(encoding="utf-8"), re.S)
    lines = [line.split(" #")[0].replace("\\", "") for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    seen = 0
    for line in lines:
        for call in re.split(r"(?:^|\$\(|;|&&|\|\||\s)gdlab ", line)[1:]:
            lexer = shlex.shlex(call, posix=True, punctuation_chars=";&|()")
            lexer.whitespace_split = True
            words = list(itertools.takewhile(lambda w: w.strip(";&|()"), lexer))  # up to the command's end
            command = group.commands.get(words[0]) if words and not words[0].startswith("-") else group
            assert command is not None, line
            taken = {n for p in command.params for n in (*p.opts, *p.secondary_opts)} | {"--help", "-h"}
            given = [w.lstrip("[").split("=")[0] for w in words if re.match(r"\[?--?[a-z]", w)]  # `[--opt x]` too
            assert set(given) <= taken, (line, set(given) - taken)
            seen += 1
    assert seen >= 40


def test_the_readmes_layer_loss_optimizer_and_scheduler_signatures_are_the_configs():
    """Every `Name(key, key, ...)` the README gives for a layer, loss, optimizer or scheduler lists exactly the
    keys its config takes (a scheduler's interval/warmup keys are described once, apart)."""
    from gdlab.config import Config
    from gdlab.layers import LAYER_ARGS

    text = " ".join(README.read_text(encoding="utf-8").split())
    defs = Config.model_json_schema()["$defs"]
    shared = {"name", "interval", "warmup", "warmup_start_factor"}
    keys = {name: list(defs[name]["properties"]) for name in defs if "properties" in defs[name]}
    keys.update({name: ["name", *args.model_fields] for name, args in LAYER_ARGS.items()})
    checked = []
    for name, args in re.findall(r"`(\w+)\(([\w, ]+)\)`", text):
        if name in keys:
            assert [a.strip() for a in args.split(",")] == [k for k in keys[name] if k not in shared], name
            checked.append(name)
    assert {"Linear", "LayerNorm", "HuberLoss", "SGD", "RMSprop", "StepLR", "OneCycleLR"} <= set(checked)
    # and every kind a config can name (layers, datasets, losses, optimizers, schedulers) is named
    kinds = set(LAYER_ARGS)
    for schema in defs.values():
        name = schema.get("properties", {}).get("name", {})
        kinds |= {name["const"]} if "const" in name else set(name.get("enum", []))
    assert not {k for k in kinds if not re.search(rf"`{k}[`(]", text)}


def test_the_readmes_example_train_section_shows_the_defaults():
    """The key-by-key config shows every train key at its default (but the run's length), as its comments
    explain them; a changed default would leave the README teaching the old one."""
    import yaml

    from gdlab.config.run import TrainConfig

    example = yaml.safe_load(re.search(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[1])
    shown = {k: v for k, v in example["train"].items() if k not in ("epochs", "steps")}
    assert set(shown) == set(TrainConfig.model_fields) - {"epochs", "steps"}  # every key is explained
    assert shown == {k: TrainConfig.model_fields[k].default for k in shown}


def test_the_outputs_concepts_quotes_are_what_the_commands_print(tmp_path):
    """concepts.md quotes the graph of sine.yaml (its ```text block), the metrics.csv header of a sine run, and the
    last line of `gdlab gradcheck configs/sine.yaml`; each is compared with what the command prints now."""
    from tests.helpers import invoke

    text = DOC.read_text(encoding="utf-8")
    graph = invoke("graph", ROOT / "configs" / "sine.yaml")
    assert graph.exit_code == 0
    assert re.search(r"```text\n(.*?)```", text, re.S)[1].splitlines() == graph.stdout.splitlines()[1:]
    header = re.search(r"The file holds only numbers: `([\w,]+)`", text)[1]
    run = invoke("train", ROOT / "configs" / "sine.yaml", "train.steps=2", "--run-dir", tmp_path / "run", "-q")
    assert run.exit_code == 0 and header == (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0]
    check = invoke("gradcheck", ROOT / "configs" / "sine.yaml")
    assert check.exit_code == 0 and f"`{check.stdout.strip().splitlines()[-1]}`" in " ".join(text.split())


def test_every_file_the_docs_name_or_link_exists():
    """Paths such as `tests/test_resume.py` or `gdlab/engine/fast_tanh.py`, and markdown links with their
    #anchors, in README.md and docs/*.md: a renamed file or heading leaves a dead pointer."""
    gone = []
    for doc in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for path in re.findall(r"(?<![\w/.-])((?:tests|gdlab|docs|benchmarks|configs|scripts)/[\w./-]*\w)", text):
            if not (ROOT / path).exists():
                gone.append(f"{doc.name}: {path}")
        for target, anchor in re.findall(r"\]\(([^)#\s]+)(?:#([^)\s]+))?\)", text):
            linked = doc.parent / target
            if not linked.exists():
                gone.append(f"{doc.name}: link {target}")
            elif anchor:  # GitHub's slug of a heading: lower case, punctuation dropped, spaces to hyphens
                slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                         for h in re.findall(r"^#+ (.*)$", linked.read_text(encoding="utf-8"), re.M)}
                if anchor not in slugs:
                    gone.append(f"{doc.name}: link {target}#{anchor}")
    assert not gone


def test_the_defaults_the_readmes_lr_find_usage_shows_are_its_defaults():
    import typer

    from gdlab.cli import app

    usage = re.search(r"`gdlab lr-find CONFIG ((?:\[--[\w-]+ [^\]]+\] ?)+)`", README.read_text(encoding="utf-8"))
    assert usage, "the README's lr-find usage line is gone; update this test"
    shown = dict(re.findall(r"\[(--[\w-]+) ([^\]]+)\]", usage[1]))
    params = {p.opts[0]: p.default for p in typer.main.get_command(app).commands["lr-find"].params if p.opts}
    assert {opt: float(value) for opt, value in shown.items()} == {opt: float(params[opt]) for opt in shown}
    assert len(shown) == 4
