"""The stability edge under a OneCycleLR with cycle_momentum: SGD's momentum is then the cycle's at each step,
not the config's, and the edge 2(1+momentum)/lr must use it. Checked against the momentum torch's OneCycleLR
sets, step by step, and against the run's own last step."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import torch
import yaml

from gdlab.plotting.cycled_momentum import momentum_per_step
from gdlab.plotting.stability import stability_edge
from tests.helpers import TINY, invoke

CYCLE = {"name": "OneCycleLR", "cycle_momentum": True, "div_factor": 25.0, "final_div_factor": 1e4,
         "base_momentum": 0.85, "max_momentum": 0.95, "three_phase": False, "anneal_strategy": "cos", "pct_start": 0.3}


def torch_cycle(cycle: dict, peak: float, steps: int) -> tuple[list[float], list[float]]:
    """The lr and momentum torch.optim.SGD runs each of `steps` steps with under OneCycleLR."""
    sgd = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=peak, momentum=0.5)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        sgd, max_lr=peak, total_steps=steps, pct_start=cycle["pct_start"], anneal_strategy=cycle["anneal_strategy"],
        cycle_momentum=True, base_momentum=cycle["base_momentum"], max_momentum=cycle["max_momentum"],
        div_factor=cycle["div_factor"], final_div_factor=cycle["final_div_factor"], three_phase=cycle["three_phase"])
    lrs, momenta = [], []
    for step in range(steps):
        lrs.append(sgd.param_groups[0]["lr"])
        momenta.append(sgd.param_groups[0]["momentum"])
        sgd.step()
        if step < steps - 1:
            schedule.step()
    return lrs, momenta


@pytest.mark.parametrize("changes", [{}, {"three_phase": True}, {"anneal_strategy": "linear"},
                                     {"base_momentum": 0.0, "max_momentum": 0.9, "pct_start": 0.5}])
def test_each_steps_momentum_is_read_back_from_its_lr_as_torch_set_it(changes):
    cycle = {**CYCLE, **changes}
    lrs, momenta = torch_cycle(cycle, 0.3, 40)
    assert momentum_per_step(cycle, 0.3, pd.Series(lrs)).tolist() == pytest.approx(momenta, abs=1e-9)
    # a run stopped before its peak: every row still on the rise
    assert momentum_per_step(cycle, 0.3, pd.Series(lrs[:8])).tolist() == pytest.approx(momenta[:8], abs=1e-9)


def test_the_sweeps_edge_takes_the_momentum_at_the_peak_lr():
    """The swept lr is the cycle's peak, where the momentum is base_momentum: 2(1+0.85)/λ, not the 2/λ an SGD
    configured without momentum gave."""
    edge, formula = stability_edge({"name": "SGD", "lr": 0.1, "momentum": 0.0}, 2.0, CYCLE)
    assert edge == pytest.approx(2 * 1.85 / 2.0) and "OneCycleLR" in formula
    assert stability_edge({"name": "SGD", "lr": 0.1, "momentum": 0.0}, 2.0)[0] == pytest.approx(1.0)  # no cycle


def test_the_train_summary_gives_the_edge_of_the_last_steps_cycled_momentum(tmp_path):
    """SGD configured without momentum, cycled by OneCycleLR: torch runs its last step at momentum 0.95, so the
    edge there is 2(1+0.95)/lr. It said 2/lr, half of it."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**TINY, "scheduler": {"name": "OneCycleLR", "cycle_momentum": True}}))
    result = invoke("train", config, "train.sharpness_every=3", "--run-dir", tmp_path / "run")
    assert result.exit_code == 0, result.output
    lr = pd.read_csv(tmp_path / "run" / "metrics.csv")["lr"]
    torch_lrs, momenta = torch_cycle(CYCLE, TINY["optimizer"]["lr"], len(lr))
    assert lr.tolist() == pytest.approx(torch_lrs, rel=1e-6) and momenta[-1] == pytest.approx(0.95)
    shown = re.search(r"sharpness edge\s+(\S+) = 2\(1\+momentum\) / lr with OneCycleLR's momentum", result.stdout)
    assert shown, result.stdout
    assert float(shown[1]) == pytest.approx(2 * (1 + momenta[-1]) / lr.iloc[-1], rel=1e-3)
