"""Image bundles without Docker: a stand-in engine that saves a real tar archive and
loads whatever stream it is given, so the format, the checks and every bad file are
tested here; tests/lab/test_images_bundle.py does the same against the real daemon."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest
import zstandard

from labkit.errors import LabStateError, UsageError
from labkit.lab.bundle import (
    BUNDLE_FORMAT,
    MANIFEST_NAME,
    BundleImage,
    export_images,
    import_images,
    read_manifest,
)


def _docker_archive(names: Sequence[str]) -> bytes:
    """A small archive shaped like `docker save`'s (manifest.json + a layer)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (
            ("manifest.json", json.dumps([{"RepoTags": list(names)}]).encode()),
            ("abc123/layer.tar", bytes(range(256)) * 4000),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class FakeEngine:
    """save_images streams a docker-save-like archive; load_images reads the stream as
    `docker load` would and 'loads' the images it names."""

    def __init__(
        self,
        images: dict[str, str],
        *,
        saved_ids: dict[str, str] | None = None,
        fail_after: int | None = None,
    ) -> None:
        self.images = dict(images)  # name -> id now in the daemon
        self.saved_ids = dict(saved_ids or {})  # name -> id that loading the archive gives
        self.loaded_stream = b""
        self.fail_after = fail_after

    def save_images(self, names: Sequence[str]) -> Iterator[bytes]:
        data = _docker_archive(names)
        for i in range(0, len(data), 50_000):
            if self.fail_after is not None and i >= self.fail_after:
                raise LabStateError("Docker stopped in the middle")
            yield data[i : i + 50_000]

    def load_images(self, data: Iterable[bytes]) -> list[str]:
        self.loaded_stream = b"".join(data)
        with tarfile.open(fileobj=io.BytesIO(self.loaded_stream)) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        names = [tag for entry in manifest for tag in entry["RepoTags"]]
        for name in names:
            self.images[name] = self.saved_ids[name]
        return names

    def image_id(self, name: str) -> str | None:
        return self.images.get(name)


IMAGES = [
    BundleImage("labkit/mx:t", "sha256:" + "a" * 64, "d1"),
    BundleImage("labkit/dns:t", "sha256:" + "b" * 64, "d2"),
]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    engine = FakeEngine({i.name: i.id for i in IMAGES})
    seen: list[int] = []
    result = export_images(
        engine,  # type: ignore[arg-type]
        IMAGES,
        tmp_path / "lab.tar.zst",
        labkit_version="9.9",
        on_progress=lambda done, _what: seen.append(done),
    )
    assert result.path.exists() and result.file_bytes == result.path.stat().st_size
    assert result.archive_bytes == len(_docker_archive([i.name for i in IMAGES]))
    assert seen and seen[-1] == result.archive_bytes and seen == sorted(seen)
    assert result.file_bytes < result.archive_bytes  # compressed
    return result.path


def _fresh_engine() -> FakeEngine:
    """A daemon without the images, that gets them back as they were saved."""
    return FakeEngine({}, saved_ids={i.name: i.id for i in IMAGES})


def test_the_bundle_is_one_tar_with_the_manifest_first(bundle):
    raw = zstandard.ZstdDecompressor().stream_reader(bundle.open("rb")).read()
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile(MANIFEST_NAME))  # type: ignore[arg-type]
    assert names == [MANIFEST_NAME, "manifest.json", "abc123/layer.tar"]
    assert manifest["format"] == BUNDLE_FORMAT and manifest["labkit_version"] == "9.9"
    assert [i["name"] for i in manifest["images"]] == ["labkit/mx:t", "labkit/dns:t"]


def test_read_manifest(bundle):
    manifest = read_manifest(bundle)
    assert manifest.images == tuple(IMAGES)


def test_import_loads_the_whole_stream_and_checks_every_id(bundle):
    engine = _fresh_engine()
    result = import_images(
        engine,  # type: ignore[arg-type]
        bundle,
        current_digests={"labkit/mx:t": "d1", "labkit/dns:t": "newer"},
    )
    assert set(result.loaded) == {"labkit/mx:t", "labkit/dns:t"}
    assert result.outdated == ("labkit/dns:t",)  # this checkout would rebuild it
    # Docker got the archive whole, our manifest member included (it ignores it).
    with tarfile.open(fileobj=io.BytesIO(engine.loaded_stream)) as tar:
        assert tar.getnames() == [MANIFEST_NAME, "manifest.json", "abc123/layer.tar"]


def test_an_image_that_loads_with_another_id_is_an_error(bundle):
    engine = _fresh_engine()
    engine.saved_ids["labkit/dns:t"] = "sha256:" + "c" * 64
    with pytest.raises(LabStateError, match="labkit/dns:t") as err:
        import_images(engine, bundle)  # type: ignore[arg-type]
    assert "damaged" in (err.value.advice or "")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "ends before its data does"),  # cut in half (see below)
        (b"", "is empty"),
        (b"PK\x03\x04 a zip file", "not zstd data"),
        (zstandard.ZstdCompressor().compress(b"x" * 2000), "does not hold a tar archive"),
    ],
)
def test_bad_files_are_usage_errors_that_say_why(bundle, tmp_path, content, says):
    bad = tmp_path / "bad.zst"
    bad.write_bytes(
        bundle.read_bytes()[: bundle.stat().st_size // 2] if content is None else content
    )
    engine = _fresh_engine()
    with pytest.raises(UsageError, match=says) as err:
        import_images(engine, bad)  # type: ignore[arg-type]
    assert "labkit images export" in (err.value.advice or "")
    assert engine.images == {}  # nothing was reported loaded


def test_a_tar_of_something_else_is_not_a_bundle(tmp_path):
    other = tmp_path / "other.tar.zst"
    other.write_bytes(zstandard.ZstdCompressor().compress(_docker_archive(["x:y"])))
    with pytest.raises(UsageError, match="first member is 'manifest.json'"):
        read_manifest(other)


def test_a_bundle_of_another_format_says_which(tmp_path):
    body = json.dumps({"format": "labkit-images/7", "images": []}).encode()
    info = tarfile.TarInfo(MANIFEST_NAME)
    info.size = len(body)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(info, io.BytesIO(body))
    path = tmp_path / "future.tar.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(buf.getvalue()))
    with pytest.raises(UsageError, match="another format"):
        read_manifest(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(UsageError, match="No bundle at"):
        read_manifest(tmp_path / "nope.zst")
    with pytest.raises(UsageError, match="folder"):
        read_manifest(tmp_path)


def test_a_failed_export_leaves_no_file(tmp_path):
    engine = FakeEngine({}, fail_after=100_000)
    out = tmp_path / "lab.tar.zst"
    with pytest.raises(LabStateError, match="middle"):
        export_images(engine, IMAGES, out, labkit_version="1")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
