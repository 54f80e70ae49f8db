"""One module per CLI command: ``add_arguments(parser)`` and ``run(args) -> int``.

Top-level imports here are standard library only (start-up time); heavy imports go inside
``run``.
"""
