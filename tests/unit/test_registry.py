"""Pushing and pulling the lab's images through a registry, without Docker: a fake
engine records what labkit asks of it; the lab test runs a real registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from labkit.errors import LabStateError, UsageError
from labkit.lab.registry import parse_registry, pull_images, push_images

NAMES = {"dns": "labkit/dns:dev", "mx": "labkit/mx:dev"}


@pytest.mark.parametrize(
    ("typed", "address"),
    [
        ("10.0.0.5:5000", "10.0.0.5:5000"),
        (" registry.example.org:443 ", "registry.example.org:443"),
        ("localhost:5000", "localhost:5000"),
    ],
)
def test_registry_addresses_as_people_type_them(typed: str, address: str) -> None:
    assert parse_registry(typed) == address


@pytest.mark.parametrize(
    "typed",
    [
        "http://10.0.0.5:5000",
        "10.0.0.5",
        "10.0.0.5:5000/labkit",
        "host:0",
        "host:99999",
        "host:port",
        "",
        ":5000",
        "-bad-:5000",
        "a b:5000",
    ],
)
def test_anything_else_is_a_usage_error_that_shows_the_form(typed: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_registry(typed)
    assert caught.value.advice


class FakeEngine:
    def __init__(self, *, fail: str | None = None, labels: dict[str, str] | None = None) -> None:
        self.fail = fail
        self.labels = labels or {}
        self.calls: list[tuple[Any, ...]] = []

    def image_id(self, name: str) -> str:
        return "sha256:" + name.split("/")[-1].split(":")[0] * 4

    def tag(self, image: str, repository: str, tag: str) -> None:
        self.calls.append(("tag", image, f"{repository}:{tag}"))

    def _stream(self, what: str, repository: str, tag: str) -> Iterator[dict[str, Any]]:
        self.calls.append((what, f"{repository}:{tag}"))
        yield {"status": "Preparing"}
        if self.fail and self.fail in repository:
            yield {"errorDetail": {"message": "denied"}, "error": "denied: no"}

    def push(self, repository: str, tag: str) -> Iterator[dict[str, Any]]:
        return self._stream("push", repository, tag)

    def pull_stream(self, repository: str, tag: str) -> Iterator[dict[str, Any]]:
        return self._stream("pull", repository, tag)

    def image_labels(self, name: str) -> dict[str, str]:
        return {"org.labkit.source-digest": self.labels.get(name, "current")}


def test_push_tags_each_image_with_the_registry_and_pushes_it() -> None:
    engine = FakeEngine()
    result = push_images(engine, NAMES, "10.0.0.5:5000")  # type: ignore[arg-type]
    assert [i.remote for i in result.images] == [
        "10.0.0.5:5000/labkit/dns:dev",
        "10.0.0.5:5000/labkit/mx:dev",
    ]
    assert ("tag", "labkit/mx:dev", "10.0.0.5:5000/labkit/mx:dev") in engine.calls
    assert ("push", "10.0.0.5:5000/labkit/mx:dev") in engine.calls


def test_an_error_in_the_push_stream_stops_with_what_the_registry_said() -> None:
    with pytest.raises(LabStateError) as caught:
        push_images(FakeEngine(fail="mx"), NAMES, "10.0.0.5:5000")  # type: ignore[arg-type]
    assert "labkit/mx:dev" in caught.value.message and "denied" in caught.value.message
    assert "insecure-registries" in (caught.value.advice or "")


def test_pull_names_images_as_labkit_up_expects_and_flags_other_sources() -> None:
    engine = FakeEngine(labels={"labkit/mx:dev": "older"})
    current = {"labkit/dns:dev": "current", "labkit/mx:dev": "current"}
    result = pull_images(engine, NAMES, "10.0.0.5:5000", current_digests=current)  # type: ignore[arg-type]
    assert ("tag", "10.0.0.5:5000/labkit/dns:dev", "labkit/dns:dev") in engine.calls
    assert result.outdated == ("labkit/mx:dev",)
