"""`compare` legend labels name every key that differs, the lr above all: a kind's own keys (SGD's momentum
beside Adam) no longer crowd it out, and when many keys differ the lr is always one of those shown.
Configs as gdlab writes them (every default filled in); no training, no torch."""

from __future__ import annotations

import re

from gdlab.plotting.labels import curve_labels
from tests.test_plot import BASE_CONFIG, make_run
from tests.test_plot_more import compare_figure, legend_texts

SGD = {"name": "SGD", "lr": 0.1, "momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0}
ADAM = {"name": "Adam", "lr": 0.05, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}


def with_(optimizer=None, **top) -> dict:
    return {**BASE_CONFIG, **top, "optimizer": {**SGD, **(optimizer or {})}}


def test_sgd_adam_and_momentum_sgd_are_labelled_by_kind_lr_and_momentum_not_by_unset_keys():
    """It was `optimizer.momentum=0 +8 more`, `optimizer.momentum=unset +8 more` …: no lr, no kind."""
    configs = [with_(), {**BASE_CONFIG, "optimizer": ADAM}, with_({"lr": 0.05, "momentum": 0.9})]
    labels, hidden = curve_labels(configs, ["a", "b", "c"])
    assert labels == ["optimizer.name=SGD, optimizer.lr=0.1, optimizer.momentum=0",
                      "optimizer.name=Adam, optimizer.lr=0.05",
                      "optimizer.name=SGD, optimizer.lr=0.05, optimizer.momentum=0.9"]
    assert hidden == ["", "", ""]


def test_many_differing_keys_never_hide_the_lr_and_fill_every_slot():
    """lr 0.1, 0.2, 0.1 beside seeds 0, 1, 2 and three other differences: it was `seed=0 +4 more`."""
    configs = [with_(seed=0),
               with_({"lr": 0.2}, seed=1),
               with_(seed=2, data={**BASE_CONFIG["data"], "noise": 0.3}, train={**BASE_CONFIG["train"], "epochs": 9},
                     model=[{"Linear": [2, 8]}, "Tanh", {"Linear": [8, 2]}])]
    labels, hidden = curve_labels(configs, ["a", "b", "c"])
    for label, lr in zip(labels, ("0.1", "0.2", "0.1")):
        assert label.startswith(f"optimizer.lr={lr}, ") and label.count("=") == 3 and label.endswith(" +2 more"), label
    assert len(set(labels)) == 3
    shown_and_hidden = [re.sub(r" \+\d+ more$", "", label) + ", " + rest for label, rest in zip(labels, hidden)]
    for text in shown_and_hidden:  # every difference is somewhere: in the legend or on the terminal
        assert all(key in text for key in ("optimizer.lr=", "seed=", "data.noise=", "train.epochs=", "model.1=")), text


def test_compare_legend_of_runs_differing_in_lr_and_optimizer_names_both(tmp_path):
    runs = [make_run(tmp_path / "a", config=with_()),
            make_run(tmp_path / "b", config={**BASE_CONFIG, "optimizer": ADAM}),
            make_run(tmp_path / "c", config={**BASE_CONFIG, "optimizer": {**ADAM, "lr": 0.001}})]
    fig, details = compare_figure(runs)
    assert legend_texts(fig) == ["optimizer.name=SGD, optimizer.lr=0.1", "optimizer.name=Adam, optimizer.lr=0.05",
                                 "optimizer.name=Adam, optimizer.lr=0.001"]
    assert details == []


def test_a_run_length_is_named_once_by_the_key_that_sets_it_and_the_title_counts_runs_in_words(tmp_path):
    """It was `train.epochs=200, train.steps=null` beside `train.epochs=null, train.steps=3`: the null half of
    the pair follows from the other key and only took room; and the title read '3 run(s)'."""
    by_epochs = {**BASE_CONFIG, "train": {"epochs": 200, "steps": None}}
    by_steps = {**BASE_CONFIG, "train": {"epochs": None, "steps": 3}}
    lr = {**BASE_CONFIG, "optimizer": {**BASE_CONFIG["optimizer"], "lr": 0.3}, "train": by_epochs["train"]}
    labels, hidden = curve_labels([by_epochs, by_steps, lr], ["a", "b", "c"])
    lr0 = BASE_CONFIG["optimizer"]["lr"]
    assert labels == [f"optimizer.lr={lr0}, train.epochs=200", f"optimizer.lr={lr0}, train.steps=3",
                      "optimizer.lr=0.3, train.epochs=200"]
    # a null with no shown alternative still says so: it is the only thing that tells the curves apart
    assert curve_labels([by_epochs, {**BASE_CONFIG, "train": {"epochs": None, "steps": None}}], ["a", "b"])[0] == \
        ["train.epochs=200", "train.epochs=null"]
    runs = [make_run(tmp_path / name, config=cfg) for name, cfg in (("a", by_epochs), ("b", by_steps))]
    fig, _ = compare_figure(runs)
    assert fig.axes[0].get_title() == "train_loss of 2 runs"
