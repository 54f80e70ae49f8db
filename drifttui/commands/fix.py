"""Placeholder until the command is built."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from drifttui.errors import DrifttuiError

    raise DrifttuiError("this command is not built yet", "drifttui fix")
