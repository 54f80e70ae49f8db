"""The Textual face of drifttui: ``drifttui`` and ``drifttui demo``.

``app.make_app(runtime, ...)`` builds the app for the CLI, the tests, the screenshots and the
benchmark. Logic that is not UI (rows, queries, sorting, pulse figures, batching) lives in
``model.py`` and ``batching.py`` and is tested without Textual.
"""
