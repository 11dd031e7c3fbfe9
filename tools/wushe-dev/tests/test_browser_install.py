"""The browser tests' install step: nothing to do when Chromium and the CJK font are there;
otherwise apt as root, or a clear message saying what to run."""

from pathlib import Path

import pytest

from wushe_dev.devstack import Installer, StackConfig, StackError
from wushe_dev.devstack import install as install_module


def installer(tmp_path: Path) -> Installer:
    return Installer(StackConfig(home=tmp_path / "h", cache=tmp_path / "c"))


def test_nothing_is_installed_when_the_browser_and_the_font_are_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium, font = tmp_path / "chromium", tmp_path / "NotoSansCJK-Regular.ttc"
    chromium.touch()
    font.touch()

    def no_apt(*args: object, **kwargs: object) -> None:
        raise AssertionError("apt-get ran")

    monkeypatch.setattr(install_module, "run_step", no_apt)
    assert installer(tmp_path).install_browser(chromium, font) == chromium


def test_without_root_the_message_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(install_module.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(install_module, "require_tool", lambda tool, hint: tool)
    with pytest.raises(StackError, match="apt-get install -y chromium chromium-driver fonts-noto"):
        installer(tmp_path).install_browser(tmp_path / "none", tmp_path / "no-font")


def test_as_root_apt_installs_the_packages_updating_its_lists_when_they_do_not_know_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium, font = tmp_path / "chromium", tmp_path / "font.ttc"
    ran: list[list[str]] = []

    def apt(cmd: list[str], **kwargs: object) -> None:
        ran.append(cmd)
        if cmd[1] == "install" and len(ran) == 1:
            raise StackError("E: Unable to locate package chromium")
        if cmd[1] == "install":
            chromium.touch()
            font.touch()

    monkeypatch.setattr(install_module.os, "geteuid", lambda: 0)
    monkeypatch.setattr(install_module, "require_tool", lambda tool, hint: tool)
    monkeypatch.setattr(install_module, "run_step", apt)
    assert installer(tmp_path).install_browser(chromium, font) == chromium
    assert [c[:2] for c in ran] == [
        ["apt-get", "install"],
        ["apt-get", "update"],
        ["apt-get", "install"],
    ]
    assert ran[-1][-3:] == ["chromium", "chromium-driver", "fonts-noto-cjk"]
