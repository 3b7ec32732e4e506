"""The installed package mirrors the tree (issue 12): every package under oscar/ is listed in
pyproject.toml, processes/ and web/ install as oscar.processes and oscar.web, and the
supervisord configuration shipped inside the package is the top-level file."""

from __future__ import annotations

import importlib
import tomllib

from tests.support import REPO


def setuptools_config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_in_the_tree_is_installed():
    config = setuptools_config()
    mapping = config["package-dir"]
    assert mapping == {"oscar.processes": "processes", "oscar.web": "web"}
    found = {".".join(p.parent.relative_to(REPO).parts) for p in REPO.glob("oscar/**/__init__.py")}
    found |= {name for name, folder in mapping.items() if (REPO / folder / "__init__.py").exists()}
    assert set(config["packages"]) == found


def test_installed_names_resolve_to_the_tree():
    for name, folder in (("oscar.web", "web"), ("oscar.processes", "processes")):
        module = importlib.import_module(name)
        assert list(module.__path__) == [str(REPO / folder)]


def test_the_packaged_supervisord_conf_is_the_top_level_one():
    from oscar import launcher

    assert (REPO / "oscar" / "supervisord.conf").resolve() == REPO / "supervisord.conf"
    assert launcher.CONFIG == REPO / "supervisord.conf"
    text = launcher.CONFIG.read_text()
    for program in ("registry", "listener", "web"):
        assert f"%(ENV_OSCAR_PYTHON)s -m oscar.processes.{program}\n" in text
    assert "%(here)s/processes" not in text
    assert setuptools_config()["package-data"]["oscar"] == ["supervisord.conf"]


def test_the_version_has_one_value():
    import importlib.metadata

    import oscar
    from oscar.info import version

    assert version() == importlib.metadata.version("oscar") == oscar.__version__
