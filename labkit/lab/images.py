"""Getting the lab's images built, on a normal machine and on an offline one.

The Dockerfiles start ``FROM ${BASE_IMAGE}`` (default ``debian:bookworm-slim``). Where
no registry is reachable, labkit makes an equivalent base image locally with
``debootstrap`` and trims it (apt caches and lists, docs, man pages, locales) to about
the size of ``bookworm-slim``, so the lab still builds from Debian's own packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from labkit.errors import BuildError, LabkitError, UsageError

if TYPE_CHECKING:
    from labkit.lab.bundle import ExportResult, ImportResult, Progress
    from labkit.lab.config import LabConfig
    from labkit.lab.engine import Compose, DockerEngine
    from labkit.lab.registry import RegistryResult, Step

__all__ = [
    "LOCAL_BASE",
    "SERVICES",
    "UPSTREAM_BASE",
    "ImageBuilder",
    "host_ca_bundle",
    "resolve_base_image",
]

UPSTREAM_BASE = "debian:bookworm-slim"
LOCAL_BASE = "labkit/debian-base:bookworm"
SERVICES = ("dns", "mx", "router", "workstation")

_SLIM_DPKG_CFG = """\
# Like the official slim images: no docs, man pages or translations in later installs.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
"""


def resolve_base_image(engine: DockerEngine, say: Callable[[str], None] = lambda _: None) -> str:
    """Return a usable Debian bookworm base image, making one if it has to."""
    forced = os.environ.get("LABKIT_BASE_IMAGE")
    if forced:
        return forced
    for name in (UPSTREAM_BASE, LOCAL_BASE):
        if engine.image_labels(name) is not None:
            return name
    say(f"pulling {UPSTREAM_BASE}")
    try:
        engine.pull(UPSTREAM_BASE)
        return UPSTREAM_BASE
    except LabkitError as exc:
        say(f"cannot pull {UPSTREAM_BASE}: {exc.message}")
        say("making a local Debian base with debootstrap instead")
        pull_error = exc
    build_local_base(engine, say)
    if engine.image_labels(LOCAL_BASE) is None:  # pragma: no cover - import reported success
        raise BuildError(f"{LOCAL_BASE} was not created.") from pull_error
    return LOCAL_BASE


def build_local_base(engine: DockerEngine, say: Callable[[str], None]) -> None:
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        raise BuildError(
            f"Cannot pull {UPSTREAM_BASE} and cannot build a base image locally.",
            advice="Connect to a registry and run `docker pull debian:bookworm-slim`, or, "
            "on Debian/Ubuntu as root, `apt-get install debootstrap` and run labkit again "
            "(it then builds the base with debootstrap). Or set LABKIT_BASE_IMAGE to a "
            "Debian bookworm image you have.",
        )
    with tempfile.TemporaryDirectory(prefix="labkit-base-") as tmp:
        root = Path(tmp) / "root"
        say("debootstrap --variant=minbase bookworm (about 30 s)")
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(root)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            tail = "\n  ".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
            raise BuildError("debootstrap failed.", advice=f"Its last lines were:\n  {tail}")
        _trim(root)
        say(f"importing the trimmed tree as {LOCAL_BASE}")
        try:
            engine.import_tree(root, LOCAL_BASE, changes=['CMD ["bash"]'])
        except LabkitError as exc:
            raise BuildError(exc.message, advice=exc.advice) from exc


def _trim(root: Path) -> None:
    """Remove what bookworm-slim does not ship (about 120 MB of a fresh debootstrap)."""
    for pattern in (
        "var/cache/apt/archives/*.deb",
        "var/cache/apt/*.bin",
        "var/lib/apt/lists/*",
        "usr/share/doc/*",
        "usr/share/man/*",
        "usr/share/info/*",
    ):
        for p in root.glob(pattern):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            elif p.name != "lock":
                p.unlink(missing_ok=True)
    locale = root / "usr/share/locale"
    for p in locale.iterdir() if locale.is_dir() else ():
        if p.name != "locale.alias":
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()
    cfg = root / "etc/dpkg/dpkg.cfg.d"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "01-labkit-slim").write_text(_SLIM_DPKG_CFG)


#: What each image is built from, relative to the project folder.
IMAGE_SOURCES: dict[str, tuple[str, ...]] = {
    # The workshop hub (labkit hub up); not a lab service.
    "hub": ("lab/images/hub",),
    "dns": ("lab/images/dns", "lab/images/common"),
    "mx": ("lab/images/mx", "lab/images/common", "lab/postfix"),
    "router": ("lab/images/router", "lab/images/common", "labkit/netpath/inspector.py"),
    "workstation": (
        "lab/images/workstation",
        "lab/images/common",
        "labkit",
        "lab/postfix",
        "lab/scenarios",
        "lab/dns",
        "lab/docker-compose.yml",
        "notebooks",
        "pyproject.toml",
    ),
}


def source_digest(home: Path, service: str) -> str:
    """A short hash of the files an image is built from, to spot outdated images."""
    import hashlib

    h = hashlib.sha256()
    for rel in IMAGE_SOURCES[service]:
        root = home / rel
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            if "__pycache__" in f.parts or ".ipynb_checkpoints" in f.parts or f.suffix == ".pyc":
                continue
            h.update(str(f.relative_to(home)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def host_ca_bundle(state_dir: Path) -> str:
    """The CA bundle handed to image builds as the ``hostca`` secret.

    On a network that intercepts TLS, the host's bundle carries the interception CA that
    pip inside the build needs. Where the host has no such file (macOS, Windows), an
    empty file is handed in and pip uses its own trust store.
    """
    explicit = os.environ.get("LABKIT_HOST_CA")
    if explicit:
        return explicit
    for candidate in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if Path(candidate).is_file():
            return candidate
    empty = state_dir / "empty-ca.pem"
    state_dir.mkdir(parents=True, exist_ok=True)
    empty.touch()
    return str(empty)


class ImageBuilder:
    """The lab's images: which are missing or outdated, and building them."""

    def __init__(
        self,
        engine: DockerEngine,
        config: LabConfig,
        home: Path,
        compose: Callable[[], Compose],
    ) -> None:
        self.engine = engine
        self.config = config
        self.home = home
        self.compose = compose

    def missing(self, *, outdated: bool = True) -> list[str]:
        """Services whose image is absent or (``outdated``) was built from other sources
        than these."""
        missing = []
        for svc in SERVICES:
            labels = self.engine.image_labels(f"labkit/{svc}:{self.config.image_tag}")
            if labels is None or (
                outdated and labels.get("org.labkit.source-digest") != source_digest(self.home, svc)
            ):
                missing.append(svc)
        return missing

    def names(self) -> dict[str, str]:
        """Each service's image name with this lab's tag."""
        return {svc: f"labkit/{svc}:{self.config.image_tag}" for svc in SERVICES}

    def require_current(self, doing: str = "exporting", into: str = "a bundle") -> None:
        """Raise a UsageError unless every image is built from these sources."""
        stale = self.missing()
        if stale:
            raise UsageError(
                f"Not {doing}: the {', '.join(stale)} image(s) are missing or older than "
                f"these sources, and {into} must hold what `labkit up` would run.",
                advice=f"Build them first: `labkit build` (tag {self.config.image_tag}).",
            )

    def export(self, out: Path, *, on_progress: Progress | None = None) -> ExportResult:
        """Write this lab's images, current with these sources, to the bundle ``out``."""
        from labkit import __version__
        from labkit.lab.bundle import BundleImage, export_images

        self.require_current()
        bundle_images = []
        for svc, name in self.names().items():
            image_id = self.engine.image_id(name)
            if image_id is None:  # removed since missing() looked
                raise UsageError(f"The image {name} is gone.", advice="`labkit build`, then again.")
            bundle_images.append(BundleImage(name, image_id, source_digest(self.home, svc)))
        return export_images(
            self.engine,
            bundle_images,
            out,
            labkit_version=__version__,
            on_progress=on_progress or (lambda _done, _what: None),
        )

    def import_(self, path: Path, *, on_progress: Progress | None = None) -> ImportResult:
        """Load the bundle ``path``; the result says which images these sources would
        rebuild (a bundle from another labkit version)."""
        from labkit.lab.bundle import import_images

        digests = {name: source_digest(self.home, svc) for svc, name in self.names().items()}
        return import_images(
            self.engine,
            path,
            current_digests=digests,
            on_progress=on_progress or (lambda _done, _what: None),
        )

    def push(self, registry: str, *, on_step: Step | None = None) -> RegistryResult:
        """Push this lab's images, current with these sources, to ``registry``."""
        from labkit.lab.registry import push_images

        self.require_current("pushing", "the registry")
        return push_images(self.engine, self.names(), registry, on_step=on_step)

    def pull(self, registry: str, *, on_step: Step | None = None) -> RegistryResult:
        """Pull this lab's images from ``registry``; the result says which these sources
        would rebuild (pushed by another labkit version)."""
        from labkit.lab.registry import pull_images

        digests = {name: source_digest(self.home, svc) for svc, name in self.names().items()}
        return pull_images(
            self.engine,
            self.names(),
            registry,
            current_digests=digests,
            on_step=on_step,
        )

    def build(
        self,
        *,
        services: list[str] | None = None,
        say: Callable[[str], None] = lambda _: None,
        on_line: Callable[[str], None] = lambda _: None,
        no_cache: bool = False,
    ) -> float:
        """Build the lab's images (all, or the given services); return seconds taken."""
        from labkit.lab.engine import compose_output_failing_step, require_compose

        unknown = [s for s in services or [] if s not in SERVICES]
        if unknown:
            raise UsageError(
                f"Unknown service {unknown[0]!r}.", advice="Services: " + ", ".join(SERVICES)
            )
        require_compose()
        started = time.monotonic()
        base = resolve_base_image(self.engine, say)
        say(f"building images on {base}")
        compose = self.compose()
        compose.extra_env["LABKIT_BASE_IMAGE"] = base
        # One compose run per service: each image carries the digest of its own sources.
        for svc in services or list(SERVICES):
            compose.extra_env["LABKIT_SOURCE_DIGEST"] = source_digest(self.home, svc)
            args = ["build", *(["--no-cache"] if no_cache else []), svc]
            say(f"building {svc}")
            try:
                compose.run(args, on_line=on_line, error=BuildError, what="The image build")
            except BuildError as exc:
                step = compose_output_failing_step(exc.advice or "")
                if step:
                    exc.message = f"The image build failed at: {step}"
                raise
        return time.monotonic() - started
