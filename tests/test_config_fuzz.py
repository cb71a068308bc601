"""Property tests: whatever YAML or override text arrives, the loader returns a valid Config or raises
GdlabError — never any other exception."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdlab.config import Config
from gdlab.errors import GdlabError
from gdlab.loading import load_config

BASE = (Path(__file__).resolve().parents[1] / "configs" / "moons.yaml").read_text()
KEYS = ["name", "seed", "data", "data.name", "data.noise", "data.n_samples", "model", "model.0", "model.0.Linear",
        "model.0.Linear.out_features", "model.1", "loss", "loss.name", "optimizer", "optimizer.name", "optimizer.lr",
        "optimizer.betas", "scheduler", "scheduler.name", "train", "train.epochs", "train.steps", "train.batch_size", "x.y"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=12), st.sampled_from(["1e-3", "017", "1:30", "off", "yes", ".nan", "SGD", "Adam", "ReLU", "[2, 8]", "{a: 1}", "!!python/object:os.system x", "*a", "&a [1]"]))


def _load(tmp_path: Path, text: str, overrides: list[str]):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass") if isinstance(text, str) else text)
    try:
        cfg = load_config(path, overrides)
    except GdlabError as exc:
        assert exc.message and "\n" not in exc.message.strip()
        return
    assert isinstance(cfg, Config)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_random_text_is_a_config_or_a_gdlab_error(tmp_path, text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return
    _load(tmp_path, text, [])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.tuples(st.sampled_from(KEYS), scalars), max_size=4))
def test_random_overrides_are_a_config_or_a_gdlab_error(tmp_path, lines):
    overrides = [f"{k}={v if isinstance(v, str) else repr(v)}" for k, v in lines]
    _load(tmp_path, BASE, overrides)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(BASE)), junk=st.text(max_size=20))
def test_damaged_configs_are_a_config_or_a_gdlab_error(tmp_path, cut, junk):
    try:
        junk.encode("utf-8")
    except UnicodeEncodeError:
        return
    _load(tmp_path, BASE[:cut] + junk + BASE[cut:], [])
