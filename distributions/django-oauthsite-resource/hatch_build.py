"""Adds the resource_app package to the wheel and the sdist.

From a checkout it is ../../resource_app (the repository's top level); in an sdist, which this hook
built from a checkout, it sits beside this file. A static ``force-include`` of ../../resource_app
would break a wheel built from the sdist, where that path does not exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "resource_app"


class ResourceAppBuildHook(BuildHookInterface):
    """Force-includes the package, without byte code, in whichever target is built."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        in_sdist, in_checkout = root / PACKAGE, root.parent.parent / PACKAGE
        source = in_sdist if in_sdist.is_dir() else in_checkout
        if not (source / "__init__.py").is_file():
            raise FileNotFoundError(f"{PACKAGE} not found at {in_sdist} or {in_checkout}")
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                build_data["force_include"][str(path)] = f"{PACKAGE}/{path.relative_to(source).as_posix()}"
