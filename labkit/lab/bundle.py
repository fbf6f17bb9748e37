"""The lab's images as one file, for machines that cannot build or pull them.

A bundle is a ``docker save`` archive of labkit's images (shared layers stored once),
compressed with zstd, whose first member is ``labkit-bundle.json``: the manifest with
each image's name, ID (the sha256 of its config, which ``docker load`` reproduces) and
the digest of the sources it was built from. ``zstd -dc FILE | docker load`` works
without labkit; ``labkit images import FILE`` also checks the manifest and the IDs.

Both directions stream: memory stays small whatever the images weigh. A cut-short or
foreign file is a :class:`~labkit.errors.UsageError` that says so, never a traceback,
and an export that fails leaves no half-written file behind.
"""

from __future__ import annotations

import json
import os
import sys
import tarfile
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from labkit.errors import LabStateError, UsageError

if TYPE_CHECKING:
    from labkit.lab.engine import DockerEngine

__all__ = [
    "BUNDLE_FORMAT",
    "MANIFEST_NAME",
    "BundleImage",
    "BundleManifest",
    "ExportResult",
    "ImportResult",
    "export_images",
    "import_images",
    "read_manifest",
]

BUNDLE_FORMAT = "labkit-images/1"
MANIFEST_NAME = "labkit-bundle.json"
_BLOCK = 512
_CHUNK = 1 << 20
#: A manifest larger than this is not one of ours.
_MANIFEST_MAX = 1 << 20

#: Called with (bytes so far, what is happening) as work goes on.
Progress = Callable[[int, str], None]


def _quiet(_done: int, _what: str) -> None:
    return None


@dataclass(frozen=True)
class BundleImage:
    name: str  # e.g. labkit/mx:dev
    id: str  # sha256:... of the image config
    source_digest: str | None  # org.labkit.source-digest of the image


@dataclass(frozen=True)
class BundleManifest:
    format: str
    labkit_version: str
    created: str
    images: tuple[BundleImage, ...]

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": self.format,
                "labkit_version": self.labkit_version,
                "created": self.created,
                "images": [vars(i) for i in self.images],
            },
            indent=1,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> BundleManifest:
        try:
            raw = json.loads(data)
            if raw.get("format") != BUNDLE_FORMAT:
                raise UsageError(
                    f"{where} is a labkit bundle of another format ({raw.get('format')!r}).",
                    advice=f"This labkit reads {BUNDLE_FORMAT}: export it again with this "
                    "version, or import it with the labkit that made it.",
                )
            images = tuple(
                BundleImage(str(i["name"]), str(i["id"]), i.get("source_digest"))
                for i in raw["images"]
            )
            return cls(BUNDLE_FORMAT, str(raw["labkit_version"]), str(raw["created"]), images)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _not_a_bundle(where, f"its manifest is unreadable ({exc})") from exc


@dataclass(frozen=True)
class ExportResult:
    path: Path
    manifest: BundleManifest
    archive_bytes: int  # the docker save archive, uncompressed
    file_bytes: int  # the bundle on disk
    seconds: float


@dataclass(frozen=True)
class ImportResult:
    path: Path
    manifest: BundleManifest
    loaded: tuple[str, ...]
    archive_bytes: int
    seconds: float
    #: images whose sources differ from this checkout's: `labkit up` would rebuild them
    outdated: tuple[str, ...]


def _not_a_bundle(where: str, why: str) -> UsageError:
    return UsageError(
        f"{where} is not a complete labkit image bundle: {why}.",
        advice="Make one with `labkit images export -o FILE` on a machine that has the "
        "images, and copy it whole (compare sizes on both sides).",
    )


# --------------------------------------------------------------------------- export


def _tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(time.time())
    info.mode = 0o644
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _padding(size: int) -> bytes:
    return b"\0" * (-size % _BLOCK)


def export_images(
    engine: DockerEngine,
    images: Sequence[BundleImage],
    out: Path,
    *,
    labkit_version: str,
    level: int = 3,
    on_progress: Progress = _quiet,
) -> ExportResult:
    """Write ``images`` (already checked to exist) to the bundle file ``out``."""
    import zstandard

    started = time.monotonic()
    manifest = BundleManifest(
        BUNDLE_FORMAT,
        labkit_version,
        datetime.now(UTC).isoformat(timespec="seconds"),
        tuple(images),
    )
    body = manifest.to_json()
    archive = 0

    def write(raw: BinaryIO) -> int:
        nonlocal archive
        compressor = zstandard.ZstdCompressor(level=level, write_checksum=True, threads=-1)
        with compressor.stream_writer(raw, closefd=False) as sink:
            # Our manifest first, then Docker's own archive, block for block: the whole
            # stream is still one tar that `docker load` reads.
            sink.write(_tar_header(MANIFEST_NAME, len(body)) + body + _padding(len(body)))
            for chunk in engine.save_images([i.name for i in images]):
                sink.write(chunk)
                archive += len(chunk)
                on_progress(archive, "exporting")
            sink.flush(zstandard.FLUSH_FRAME)
            return int(sink.tell())

    if str(out) == "-":  # to a pipe: `labkit images export -o - | ssh node ...`
        written = write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return ExportResult(out, manifest, archive, written, time.monotonic() - started)
    out = out.expanduser()
    if out.is_dir():
        raise UsageError(f"{out} is a folder.", advice=f"Give a file name: -o {out}/labkit.tar.zst")
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        with open(tmp, "wb") as raw:
            write(raw)
        os.replace(tmp, out)  # never a half-written bundle under the real name
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ExportResult(out, manifest, archive, out.stat().st_size, time.monotonic() - started)


# --------------------------------------------------------------------------- import


class _Decompressed:
    """The bundle's tar stream, decompressed chunk by chunk; knows if it ended cleanly."""

    def __init__(self, source: BinaryIO, where: str) -> None:
        import zstandard

        self._source = source
        self._where = where
        self._decoder = zstandard.ZstdDecompressor().decompressobj()
        self._error = zstandard.ZstdError
        self.done = 0

    def chunks(self) -> Generator[bytes, None, None]:
        empty = True
        while True:
            compressed = self._source.read(_CHUNK)
            if not compressed:
                break
            empty = False
            try:
                data = self._decoder.decompress(compressed)
            except self._error as exc:
                raise _not_a_bundle(self._where, f"it is not zstd data ({exc})") from exc
            if data:
                self.done += len(data)
                yield data
            if self._decoder.eof:
                break
        if not self._decoder.eof:
            said = "it is empty" if empty else "it ends before its data does (cut short?)"
            raise _not_a_bundle(self._where, said)


def _split_manifest(chunks: Iterator[bytes], where: str) -> tuple[BundleManifest, bytes]:
    """Read the first tar member (the manifest); return it and every byte read so far."""
    buffer = b""

    def fill(size: int) -> None:
        nonlocal buffer
        while len(buffer) < size:
            chunk = next(chunks, None)
            if chunk is None:
                return
            buffer += chunk

    fill(_BLOCK)
    if len(buffer) < _BLOCK:
        raise _not_a_bundle(where, "it is too short")
    try:
        header = tarfile.TarInfo.frombuf(buffer[:_BLOCK], "utf-8", "surrogateescape")
    except tarfile.HeaderError as exc:
        raise _not_a_bundle(where, "it does not hold a tar archive") from exc
    if header.name != MANIFEST_NAME or header.size > _MANIFEST_MAX:
        raise _not_a_bundle(where, f"its first member is {header.name!r}, not the manifest")
    end = _BLOCK + header.size + (-header.size % _BLOCK)
    fill(end)
    if len(buffer) < end:
        raise _not_a_bundle(where, "it ends inside its manifest")
    manifest = BundleManifest.from_json(buffer[_BLOCK : _BLOCK + header.size], where)
    return manifest, buffer


def read_manifest(path: Path) -> BundleManifest:
    """The manifest of bundle ``path``, reading only its first blocks."""
    where = str(path)
    with _open(path) as source:
        stream = _Decompressed(source, where)
        chunks = stream.chunks()
        manifest, _ = _split_manifest(chunks, where)
        chunks.close()
        return manifest


def _open(path: Path) -> BinaryIO:
    if str(path) == "-":  # from a pipe: `ssh host labkit images export -o - | ...`
        return sys.stdin.buffer
    path = path.expanduser()
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a bundle file.")
    try:
        return open(path, "rb")
    except FileNotFoundError as exc:
        raise UsageError(
            f"No bundle at {path}.", advice="Check the path; make one with `labkit images export`."
        ) from exc
    except OSError as exc:
        raise UsageError(f"Cannot read {path}: {exc.strerror}.") from exc


def import_images(
    engine: DockerEngine,
    path: Path,
    *,
    current_digests: dict[str, str] | None = None,
    on_progress: Progress = _quiet,
) -> ImportResult:
    """Load bundle ``path`` into Docker and check that every image came back the same.

    ``current_digests`` maps an image name to the source digest of this checkout, to
    report which imported images ``labkit up`` would consider outdated."""
    started = time.monotonic()
    where = str(path)
    with _open(path) as source:
        stream = _Decompressed(source, where)
        chunks = stream.chunks()
        manifest, head = _split_manifest(chunks, where)

        def body() -> Iterator[bytes]:
            yield head
            for chunk in chunks:
                on_progress(stream.done, "importing")
                yield chunk

        loaded = engine.load_images(body())
    wrong = []
    for image in manifest.images:
        got = engine.image_id(image.name)
        if got != image.id:
            wrong.append(f"{image.name} ({'absent' if got is None else got[:19]})")
    if wrong:
        raise LabStateError(
            "After loading the bundle, these images are not the ones it lists: "
            + ", ".join(wrong)
            + ".",
            advice="The bundle is damaged: export it again and copy it whole.",
        )
    outdated = tuple(
        i.name
        for i in manifest.images
        if current_digests is not None
        and i.name in current_digests
        and current_digests[i.name] != i.source_digest
    )
    return ImportResult(
        path, manifest, tuple(loaded), stream.done, time.monotonic() - started, outdated
    )


def describe(manifest: BundleManifest) -> list[dict[str, Any]]:
    """The manifest's images as rows for a table or JSON."""
    return [
        {"image": i.name, "id": i.id[:19], "source_digest": i.source_digest}
        for i in manifest.images
    ]
