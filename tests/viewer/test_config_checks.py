"""Config checks the viewer relies on: a bad [trace] path is one clear error at load time, not a crash per page."""

import pytest

from vizcache.config import ConfigError, load_config


@pytest.mark.parametrize("path", [".", "traces/", "", "sub"])
def test_trace_path_that_is_a_folder_is_rejected(tmp_path, path):
    (tmp_path / "sub").mkdir()
    config = tmp_path / "viewer.toml"
    config.write_text(f'[policy]\nname = "AgeBased"\n[trace]\npath = "{path}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(config)
    message = str(info.value)
    assert str(config) in message and "[trace] path" in message and "is a folder" in message and "traces/viewer.jsonl" in message


def test_trace_path_to_a_file_is_accepted(tmp_path):
    config = tmp_path / "viewer.toml"
    config.write_text('[policy]\nname = "AgeBased"\n[trace]\npath = "traces/viewer.jsonl"\n')
    assert load_config(config).trace == tmp_path / "traces" / "viewer.jsonl"


@pytest.mark.parametrize("value", ['"many"', "10", "true", "1000000000", "5.5"])
def test_viewer_max_points_must_be_a_whole_number_in_range(tmp_path, value):
    config = tmp_path / "viewer.toml"
    config.write_text(f'[policy]\nname = "AgeBased"\n[viewer]\nmax_points = {value}\n')
    with pytest.raises(ConfigError) as info:
        load_config(config)
    message = str(info.value)
    assert str(config) in message and "[viewer] max_points" in message and "1,000 to 500,000,000" in message


def test_viewer_max_points_in_range_is_kept(tmp_path):
    config = tmp_path / "viewer.toml"
    config.write_text('[policy]\nname = "AgeBased"\n[viewer]\nmax_points = 10000\n')
    assert load_config(config).viewer.max_points == 10_000


def test_viewer_settings_are_typed_with_defaults_and_the_hats_layer_takes_their_bounds(tmp_path):
    from vizcache.viewer.hats_layer import HatsLayer
    from vizcache.viewer.settings import ViewerSettings

    config = tmp_path / "viewer.toml"
    config.write_text('[policy]\nname = "AgeBased"\n[viewer]\ntitle = "clusters"\n')
    settings = load_config(config).viewer
    assert isinstance(settings, ViewerSettings)
    assert (settings.title, settings.catalog, settings.members, settings.reports, settings.max_points) == ("clusters", None, None, None, 5_000_000)
    assert HatsLayer.param.max_points.bounds == ViewerSettings.param.max_points.bounds == (1_000, 500_000_000)
    assert HatsLayer.param.max_points.default == ViewerSettings.param.max_points.default
    with pytest.raises(ValueError):
        ViewerSettings(max_points=999)  # the bounds hold for settings made in code too


@pytest.mark.parametrize("body, named", [
    ('scheduler = "http://x:1"', "scheduler"), ('scheduler = ""', "scheduler"), ("scheduler = 5", "scheduler"),
    ('scheduler = "tcp://a b:1"', "scheduler"), ('scheduler = "local"\nworkers = 0', "workers"),
    ('scheduler = "local"\nworkers = 1000', "workers"), ('scheduler = "local"\nworkers = true', "workers"),
    ('scheduler = "local"\nthreads_per_worker = 1.5', "threads_per_worker"), ('scheduler = "local"\nmemory_limit = "lots"', "memory_limit"),
    ('scheduler = "local"\nmemory_limit = 1000', "memory_limit"), ('scheduler = "tcp://h:8786"\nworkers = 2', "workers"),
    ('schedular = "local"', "unknown key"),
])
def test_a_bad_dask_table_is_one_line_naming_the_key(tmp_path, body, named):
    config = tmp_path / "viewer.toml"
    config.write_text(f'[policy]\nname = "AgeBased"\n[dask]\n{body}\n')
    with pytest.raises(ConfigError) as info:
        load_config(config)
    message = str(info.value)
    assert message.startswith(f"{config}: [dask]") and named in message and "\n" not in message
    assert any(allowed in message for allowed in (" use ", "allowed keys", 'only for scheduler = "local"')), message


def test_a_dask_table_is_read_and_none_without_it(tmp_path):
    config = tmp_path / "viewer.toml"
    config.write_text('[policy]\nname = "AgeBased"\n')
    assert load_config(config).dask is None
    config.write_text('[policy]\nname = "AgeBased"\n[dask]\nscheduler = "local"\nworkers = 3\nmemory_limit = "2GiB"\n')
    settings = load_config(config).dask
    assert (settings.scheduler, settings.workers, settings.threads_per_worker, settings.memory_limit) == ("local", 3, 1, "2GiB")
    config.write_text('[policy]\nname = "AgeBased"\n[dask]\nscheduler = "tcp://10.0.0.5:8786"\n')
    assert load_config(config).dask.scheduler == "tcp://10.0.0.5:8786"
