"""Typed config: defaults, overrides, and one-line errors naming the key."""

from pathlib import Path

import pytest
import yaml

from seglab.config import SECTIONS, Config, load_config, parse_override, save_config
from seglab.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["demo.yaml", "tiny.yaml"])
def test_shipped_params_files_are_valid(name):
    config = load_config(ROOT / "params" / name)
    assert config.features.count_columns == [] and config.features.kinds == {}  # found, not told
    assert config.data.label_column == "segment"


def test_default_params_ask_nothing_of_a_users_table():
    """No demo label column, no demo count columns: any table with its id column runs."""
    config = load_config(ROOT / "params" / "default.yaml")
    assert config.data.label_column is None and config.features.count_columns == []
    assert config.features.kinds == {}
    assert config.cluster.algorithm == "auto"


def test_dotted_overrides_are_parsed_as_yaml():
    config = load_config(None, ["cluster.eps=0.3", "reduce.n_components=3",
                                "cluster.baselines=[kmeans]", "data.label_column=null"])
    assert config.cluster.eps == 0.3
    assert config.reduce.n_components == 3
    assert config.cluster.baselines == ["kmeans"]
    assert config.data.label_column is None


def test_section_overrides_merge_key_by_key(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"reduce": {"n_neighbors": 20, "n_components": 4}}))
    config = load_config(path, sections={"reduce": {"n_neighbors": 10}})
    assert (config.reduce.n_neighbors, config.reduce.n_components) == (10, 4)


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("cluster.epz=0.3", "cluster.epz: unknown key"),
        ("cluster.eps=-1", "cluster.eps"),
        ("cluster.eps=abc", "cluster.eps"),
        ("reduce.n_components=25", "reduce.n_components"),
        ("reduce.n_neighbors='30'", "reduce.n_neighbors"),
        ("cluster.algorithm=optics", "cluster.algorithm"),
        ("features.pca_components=1.5", "variance fraction"),
        ("seeds=1", "seeds: unknown key"),
    ],
)
def test_invalid_values_name_the_key(override, named):
    with pytest.raises(ConfigError) as error:
        load_config(None, [override])
    message = str(error.value)
    assert named in message
    assert "\n" not in message


def test_cross_section_values_are_checked():
    with pytest.raises(ConfigError, match=r"reduce.fit_sample \(100\) must exceed reduce.n_neighbors"):
        load_config(None, ["reduce.fit_sample=100", "reduce.n_neighbors=200"])


def test_override_without_equals_is_rejected():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("cluster.eps")


def test_override_into_a_scalar_is_rejected(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("seed: 1\n")
    with pytest.raises(ConfigError, match="seed is not a section"):
        load_config(path, ["seed.value=1"])


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("cluster: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("3\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(scalar)


def test_saved_config_round_trips(tmp_path):
    config = load_config(None, ["cluster.eps=0.25", "features.pca_components=0.9"])
    save_config(config, tmp_path / "params.yaml")
    assert load_config(tmp_path / "params.yaml") == config


def test_sections_are_the_nested_models():
    assert SECTIONS == ("data", "features", "reduce", "eps", "cluster", "metrics", "report",
                        "compare", "tracking")
    assert set(SECTIONS) < set(Config.model_fields)


def nested_aliases(depth: int) -> str:
    """YAML whose last anchor, used once, expands to 9**(depth + 1) values ("billion laughs")."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, depth + 1)]
    return "\n".join(lines)


@pytest.mark.parametrize("depth", [4, 8])
def test_nested_yaml_aliases_are_refused_in_one_short_line(tmp_path, depth):
    """A kilobyte of aliases under a known key is refused at once, not expanded into gigabytes."""
    path = tmp_path / "laughs.yaml"
    path.write_text(f"{nested_aliases(depth)}\ncluster:\n  baselines: *a{depth}\n")
    assert path.stat().st_size < 1100
    with pytest.raises(ConfigError, match=r"more than 10,000 values, counting each YAML alias") as error:
        load_config(path)
    assert len(str(error.value)) < 300
    flow = f"{{{nested_aliases(depth).replace(chr(10), ', ')}}}"
    with pytest.raises(ConfigError, match=r"^--set 'cluster.baselines={a0: &a0 \[x, .*…: more than 10,000"):
        load_config(None, [f"cluster.baselines={flow}"])
    with pytest.raises(ConfigError, match=r"^cluster: more than 10,000 values"):
        load_config(None, sections={"cluster": flow})


def test_an_alias_that_holds_itself_is_refused(tmp_path):
    path = tmp_path / "self.yaml"
    path.write_text("cluster:\n  baselines: &a [*a]\n")
    with pytest.raises(ConfigError, match="counting each YAML alias"):
        load_config(path)
    path.write_text("features: {exclude: &e [cat_*], count_columns: *e}\n")  # a plain alias still works
    assert load_config(path).features.count_columns == ["cat_*"]


def test_error_messages_echo_at_most_a_short_part_of_a_value():
    with pytest.raises(ConfigError) as error:
        load_config(None, [f"cluster.baselines=[{'x' * 100_000}]"])
    assert "(got 'xxxx" in str(error.value) and len(str(error.value)) < 400
