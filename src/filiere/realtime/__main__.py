"""``python -m filiere.realtime --workspace WS --port P``: the real-time service alone (benchmarks, tests)."""

from __future__ import annotations

import typer

from filiere.realtime.cli import serve

if __name__ == "__main__":
    typer.run(serve)
