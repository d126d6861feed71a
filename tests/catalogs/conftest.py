import pytest

from vizcache.catalogs.generate import generate


@pytest.fixture(scope="session")
def small_set(tmp_path_factory):
    """The small preset, generated once per test session (about a second)."""
    out = tmp_path_factory.mktemp("small")
    return generate(out, "small", seed=7, fits=True)


def write_config(path, body, folders=("."), policy='[policy]\nname = "AgeBased"\n'):
    folder_list = ", ".join(f'"{f}"' for f in folders)
    path.write_text(f"{policy}\n[data]\nfolders = [{folder_list}]\n\n{body}")
    return path
