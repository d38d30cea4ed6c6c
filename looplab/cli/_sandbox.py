"""Commands about the sandbox: sandbox run, sandbox build-image."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.text import Text

from looplab.cli._app import HELP_OPTIONS, app, cli_command, err, out

sandbox_app = typer.Typer(
    help="Run code in the sandbox; build its image offline.", context_settings=HELP_OPTIONS
)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("run")
@cli_command
def sandbox_run(
    file: Annotated[
        str | None, typer.Argument(help="A Python file to run ('-' for stdin).")
    ] = None,
    code: Annotated[str | None, typer.Option("-c", help="Python code to run.")] = None,
    backend: Annotated[
        str, typer.Option(help="auto, docker, bubblewrap or process (unisolated).")
    ] = "auto",
    timeout: Annotated[float, typer.Option(min=0.1, help="Wall-clock limit, seconds.")] = 10.0,
    memory_mb: Annotated[int, typer.Option(min=16, help="Memory limit, MB.")] = 512,
    image: Annotated[str | None, typer.Option(help="Docker image.")] = None,
) -> None:
    """Run a program in a sandbox and print its ExecResult."""
    from pathlib import Path

    from looplab.errors import ConfigError
    from looplab.sandbox import Limits, make_sandbox

    if (file is None) == (code is None):
        raise ConfigError("give a FILE or -c CODE (one of them)")
    if code is None:
        path = Path(file or "-")
        if file == "-":
            code = sys.stdin.read()
        elif not path.is_file():
            raise ConfigError(f"no file {file}")
        else:
            code = path.read_text(encoding="utf-8", errors="replace")
    sandbox = make_sandbox(backend, image=image)
    try:
        result = sandbox.run(code, limits=Limits(timeout_s=timeout, memory_mb=memory_mb))
    finally:
        sandbox.close()
    if result.stdout:
        out.print(Text("stdout", "bold"))
        sys.stdout.write(result.stdout if result.stdout.endswith("\n") else result.stdout + "\n")
    if result.stderr:
        out.print(Text("stderr", "bold"))
        sys.stdout.write(result.stderr if result.stderr.endswith("\n") else result.stderr + "\n")
    out.print(Text.assemble((result.isolation, "bold"), f": {result.summary()}"))
    if not result.ok:
        raise typer.Exit(1)


@sandbox_app.command("build-image")
@cli_command
def sandbox_build_image(
    tag: Annotated[str, typer.Option(help="Image tag.")] = "looplab-sandbox:bookworm",
    mirror: Annotated[str, typer.Option(help="Debian mirror.")] = "http://deb.debian.org/debian",
) -> None:
    """Build a sandbox image with no registry: debootstrap a rootfs, docker import it."""
    from looplab.sandbox import build_image

    built = build_image(tag, mirror=mirror, log=lambda line: err.print(Text(line, "dim")))
    out.print(f"built {built}")
