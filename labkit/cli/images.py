"""``labkit images export|import|show|push|pull``: the lab's images as one file, or
through a private registry.

For machines that cannot build: a workshop's other hosts (``labkit images export | ssh
node labkit images import -``, or ``push``/``pull --registry HOST:PORT`` where the site
has a registry) and a venue with bad Wi-Fi.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from labkit.cli import app
from labkit.cli._output import console, emit, err_console
from labkit.cli._project import ProjectOpt
from labkit.lab.bundle import BundleManifest, describe, read_manifest
from labkit.lab.config import LabConfig
from labkit.lab.lifecycle import Lab
from labkit.lab.registry import RegistryResult, parse_registry

images_app = typer.Typer(
    help="Move the lab's images: one file (export/import) or a registry (push/pull).",
    no_args_is_help=True,
)
app.add_typer(images_app, name="images")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
DEFAULT_FILE = "labkit-images.tar.zst"


def _lab(project: str | None) -> Lab:
    return Lab(LabConfig.from_env(project=project))


@contextmanager
def _bytes_progress(what: str, quiet: bool) -> Iterator[Callable[[int, str], None]]:
    """A byte counter with rate on stderr (no total: Docker streams without one)."""
    if quiet:
        yield lambda _done, _what: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(bar_width=None),
        DownloadColumn(binary_units=True),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(what, total=None)
        yield lambda done, _what: progress.update(task, completed=done)


def _manifest_table(manifest: BundleManifest, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("image", "id", "sources"):
        table.add_column(col)
    for row in describe(manifest):
        table.add_row(row["image"], row["id"], row["source_digest"] or "-")
    return table


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


@images_app.command("export")
def export(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The bundle file to write.")
    ] = Path(DEFAULT_FILE),
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the lab's images (built from these sources) to one zstd-compressed file."""
    lab = _lab(project)
    with _bytes_progress("exporting images", as_json) as on_progress:
        result = lab.image_builder().export(output, on_progress=on_progress)

    def render() -> None:
        console.print(_manifest_table(result.manifest, f"bundle {escape(str(result.path))}"))
        console.print(
            f"[green]✓[/] {len(result.manifest.images)} images, {_mb(result.archive_bytes)} "
            f"-> {_mb(result.file_bytes)} in {result.seconds:.1f}s. On the other machine: "
            f"`labkit images import {escape(result.path.name)}`, then `labkit up`."
        )

    emit(result, as_json, render)


@images_app.command("import")
def import_(
    bundle: Annotated[Path, typer.Argument(help="A file made by `labkit images export`.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load a bundle's images into Docker and check each one against its manifest."""
    lab = _lab(project)
    with _bytes_progress("importing images", as_json) as on_progress:
        result = lab.image_builder().import_(bundle, on_progress=on_progress)

    def render() -> None:
        console.print(_manifest_table(result.manifest, f"imported {escape(str(result.path))}"))
        console.print(
            f"[green]✓[/] {len(result.manifest.images)} images loaded and checked in "
            f"{result.seconds:.1f}s."
        )
        if result.outdated:
            err_console.print(
                "[yellow]note:[/] built from other sources than this checkout (another "
                f"labkit version): {escape(', '.join(result.outdated))}; `labkit up` would "
                "rebuild them. Use the labkit the bundle came from "
                f"({escape(result.manifest.labkit_version)})."
            )

    emit(result, as_json, render)


@images_app.command("show")
def show(
    bundle: Annotated[Path, typer.Argument(help="A file made by `labkit images export`.")],
    as_json: JsonOpt = False,
) -> None:
    """What a bundle holds, read from its manifest (without loading anything)."""
    manifest = read_manifest(bundle)
    emit(
        manifest,
        as_json,
        lambda: console.print(
            _manifest_table(
                manifest,
                f"{escape(str(bundle))}: labkit {escape(manifest.labkit_version)}, "
                f"made {escape(manifest.created)}",
            )
        ),
    )


# --------------------------------------------------------------------------- the kit

bundle_app = typer.Typer(
    help="The offline kit: sources, Python wheels and images for a machine with no network.",
    invoke_without_command=True,
)
app.add_typer(bundle_app, name="bundle")


@bundle_app.callback()
def bundle(
    ctx: typer.Context,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="A new folder for the kit.")
    ] = Path("labkit-kit"),
    images: Annotated[
        bool, typer.Option("--images/--no-images", help="Put the lab's images in.")
    ] = True,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the offline kit; on the other machine: `sh KIT/install.sh`."""
    if ctx.invoked_subcommand is not None:
        return
    from labkit.lab.kit import make_kit

    lab = _lab(project)
    builder = lab.image_builder()
    if images:
        builder.require_current()  # before minutes of pip, not after
    say = (lambda _m: None) if as_json else (lambda m: err_console.print(f"[dim]{escape(m)}[/]"))

    def export_images(path: Path) -> object:
        with _bytes_progress("exporting images", as_json) as on_progress:
            return builder.export(path, on_progress=on_progress)

    result = make_kit(
        lab.home,
        output,
        export_images=export_images if images else None,
        say=say,
    )

    def render() -> None:
        wheels = sum(1 for f in result.files if f.path.startswith("wheels/"))
        console.print(
            f"[green]✓[/] kit in {escape(str(result.folder))}: {wheels} wheels"
            f"{', the images' if images else ''}, {_mb(result.total_bytes)}, "
            f"{result.seconds:.0f}s. Copy the folder, then on the other machine: "
            f"`sh {escape(result.folder.name)}/install.sh`."
        )

    emit(result, as_json, render)


@bundle_app.command("install")
def bundle_install(
    kit: Annotated[Path, typer.Argument(help="A folder written by `labkit bundle`.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a kit's files and load its images (install.sh runs this after pip)."""
    from labkit.lab.kit import check_kit, images_in

    files = check_kit(kit)
    bundle_file = images_in(kit)
    result = None
    if bundle_file is not None:
        with _bytes_progress("importing images", as_json) as on_progress:
            result = _lab(project).image_builder().import_(bundle_file, on_progress=on_progress)
    data = {"files_checked": len(files), "images": result}

    def render() -> None:
        console.print(f"[green]✓[/] {len(files)} files of the kit are whole.")
        if result is None:
            console.print("No images in this kit: `labkit up` will build them.")
        else:
            console.print(
                f"[green]✓[/] {len(result.manifest.images)} images loaded and checked; "
                "`labkit up` starts the lab without building."
            )
            if result.outdated:
                err_console.print(
                    f"[yellow]note:[/] {escape(', '.join(result.outdated))} were built from "
                    "other sources than this checkout: `labkit up` would rebuild them."
                )

    emit(data, as_json, render)


RegistryOpt = Annotated[
    str,
    typer.Option(
        "--registry",
        help="The registry as HOST:PORT (the standard registry API, e.g. registry:2).",
        envvar="LABKIT_REGISTRY",
    ),
]


def _registry_table(result: RegistryResult, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("image", "in the registry", "id"):
        table.add_column(col)
    for image in result.images:
        table.add_row(image.local, image.remote, image.image_id.removeprefix("sha256:")[:12])
    return table


@contextmanager
def _steps(what: str, total: int, quiet: bool) -> Iterator[Callable[[int, str], None]]:
    """Images done out of ``total``, with what is happening now, on stderr."""
    if quiet:
        yield lambda _done, _what: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(what, total=total)
        yield lambda done, now: progress.update(task, completed=done, description=escape(now))


def _through_registry(
    registry: str, project: str | None, quiet: bool, doing: str
) -> tuple[str, RegistryResult]:
    """Push or pull (``doing``) the lab's images through ``registry``, with progress."""
    address = parse_registry(registry)
    builder = _lab(project).image_builder()
    move = builder.push if doing == "pushing" else builder.pull
    with _steps(doing, len(builder.names()), quiet) as on_step:
        return address, move(address, on_step=on_step)


@images_app.command("push")
def push(registry: RegistryOpt, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Push the lab's images (built from these sources) to a private registry, from
    where `labkit images pull --registry` fetches them on other Docker hosts."""
    address, result = _through_registry(registry, project, as_json, "pushing")

    def render() -> None:
        console.print(_registry_table(result, f"pushed to {escape(address)}"))
        console.print(
            f"[green]✓[/] {len(result.images)} images in {result.seconds:.1f}s. On each other "
            f"host: `labkit images pull --registry {escape(address)}`, then `labkit up`."
        )

    emit(result, as_json, render)


@images_app.command("pull")
def pull(registry: RegistryOpt, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Pull the lab's images from a private registry and name them as `labkit up` expects."""
    address, result = _through_registry(registry, project, as_json, "pulling")

    def render() -> None:
        console.print(_registry_table(result, f"pulled from {escape(address)}"))
        console.print(f"[green]✓[/] {len(result.images)} images in {result.seconds:.1f}s.")
        if result.outdated:
            err_console.print(
                "[yellow]note:[/] built from other sources than this checkout (another "
                f"labkit version): {escape(', '.join(result.outdated))}; `labkit up` would "
                "rebuild them."
            )

    emit(result, as_json, render)
