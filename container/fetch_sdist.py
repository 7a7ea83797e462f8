"""Finds and downloads the source distribution of one requirement, without running any of its code.

Runs on the worker host, in the host Python environment (scripts/setup.sh), for
src/adapters/images/wheel-resolution.ts when a requirement has no wheel for the target Python. pip itself cannot be used for this: even `pip download --no-deps`
runs an sdist's build backend to read its metadata, and that is package code on the host, with network. Here the
archive is only read as data; it is built into a wheel later, in a sandbox container with no network.

    python fetch_sdist.py <requirement> <python version> <destination folder>

Looks in the folders of PIP_FIND_LINKS and in the index (PIP_INDEX_URL, default PyPI, through its JSON simple API,
PEP 691). Picks the newest version the specifier allows (pre-releases only as the specifier allows them) whose
Requires-Python admits the target Python, skipping yanked files. Prints one JSON line:
    {"file": <path>, "name": <name>, "version": <version>, "build_requires": [<requirement>, ...]}
build_requires comes from the archive's pyproject.toml ([build-system] requires), or setuptools' legacy default.
Exit 3 with a message on stderr when no source distribution fits, 4 when the index cannot be reached.
"""

import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
from pip._vendor.packaging.specifiers import SpecifierSet
from pip._vendor.packaging.utils import canonicalize_name
from pip._vendor.packaging.version import InvalidVersion, Version

try:
    import tomllib
except ImportError:  # Python < 3.11
    from pip._vendor import tomli as tomllib

SDIST_SUFFIXES = (".tar.gz", ".zip")
LEGACY_BUILD_REQUIRES = ["setuptools>=40.8.0", "wheel"]
# The sdist is read, never extracted; its pyproject.toml is tiny, anything bigger is not trusted.
PYPROJECT_MAX_BYTES = 256 * 1024
# pyproject.toml sits at the top of a real archive: an archive of endless members is not read to its end.
MAX_MEMBERS_READ = 10_000
# The largest source archive taken (numpy's is some 20 MB).
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024
TIMEOUT_SECONDS = 60


def fail(message, status=3):
    print(message, file=sys.stderr)
    sys.exit(status)


def version_of(filename, name):
    """The version in '<name>-<version>.tar.gz' when the name matches (any PEP 503 spelling), else None."""
    for suffix in SDIST_SUFFIXES:
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            break
    else:
        return None
    project, _, version = stem.rpartition("-")
    if canonicalize_name(project) != canonicalize_name(name):
        return None
    try:
        return Version(version)
    except InvalidVersion:
        return None


def local_candidates(name):
    for folder in os.environ.get("PIP_FIND_LINKS", "").split():
        if not os.path.isdir(folder):
            continue
        for filename in os.listdir(folder):
            version = version_of(filename, name)
            if version is not None:
                yield version, {"path": os.path.join(folder, filename), "filename": filename}


def index_candidates(name):
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    url = f"{index}/{canonicalize_name(name)}/"
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            page = json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return
        raise
    for entry in page.get("files", []):
        version = version_of(entry["filename"], name)
        if version is None or entry.get("yanked"):
            continue
        file_url = urllib.parse.urljoin(url, entry["url"])
        # An index entry names an http(s) file with its digest; anything else (file://, no hash) is not fetched.
        if urllib.parse.urlsplit(file_url).scheme not in ("http", "https") or not entry.get("hashes", {}).get("sha256"):
            continue
        yield version, {
            "url": file_url,
            "filename": entry["filename"],
            "sha256": entry.get("hashes", {}).get("sha256"),
            "requires_python": entry.get("requires-python"),
        }


def admits(candidate, python_version):
    requires = candidate.get("requires_python")
    if not requires:
        return True
    try:
        return SpecifierSet(requires).contains(python_version + ".0", prereleases=True)
    except Exception:
        return False


def download(candidate, destination):
    target = os.path.join(destination, os.path.basename(candidate["filename"]))
    if "path" in candidate:
        shutil.copyfile(candidate["path"], target)
        return target
    digest = hashlib.sha256()
    size = 0
    with urllib.request.urlopen(candidate["url"], timeout=TIMEOUT_SECONDS) as response, open(target, "wb") as sink:
        for block in iter(lambda: response.read(1 << 20), b""):
            size += len(block)
            if size > MAX_ARCHIVE_BYTES:
                sink.close()
                os.remove(target)
                fail(f"{candidate['filename']}: larger than {MAX_ARCHIVE_BYTES} bytes")
            digest.update(block)
            sink.write(block)
    if digest.hexdigest() != candidate["sha256"]:
        os.remove(target)
        fail(f"{candidate['filename']}: sha256 does not match the index")
    return target


def pyproject_text(archive):
    """The top-level pyproject.toml of the archive ('<name>-<version>/pyproject.toml'), read without extracting."""
    if archive.endswith(".zip"):
        with zipfile.ZipFile(archive) as bundle:
            for info in bundle.infolist()[:MAX_MEMBERS_READ]:
                if re.fullmatch(r"[^/]+/pyproject\.toml", info.filename) and info.file_size <= PYPROJECT_MAX_BYTES:
                    return bundle.read(info).decode("utf-8")
        return None
    with tarfile.open(archive, "r:gz") as bundle:
        for count, member in enumerate(bundle):
            if count >= MAX_MEMBERS_READ:
                break
            if member.isfile() and re.fullmatch(r"(\./)?[^/]+/pyproject\.toml", member.name) and member.size <= PYPROJECT_MAX_BYTES:
                return bundle.extractfile(member).read().decode("utf-8")
            # tarfile keeps every member it has read: an archive of millions would fill the host's memory.
            bundle.members = []
    return None


def build_requires(archive):
    text = pyproject_text(archive)
    if text is None:
        return LEGACY_BUILD_REQUIRES
    system = tomllib.loads(text).get("build-system")
    if not isinstance(system, dict) or "requires" not in system:
        return LEGACY_BUILD_REQUIRES
    requires = system["requires"]
    if not isinstance(requires, list) or not all(isinstance(item, str) for item in requires):
        fail(f"{os.path.basename(archive)}: [build-system] requires is not a list of strings")
    # setuptools' backend asks for wheel on the versions that still need it; offered always, it costs one wheel.
    return requires if any(canonicalize_name(Requirement(item).name) == "wheel" for item in requires) else [*requires, "wheel"]


def main():
    if len(sys.argv) != 4:
        fail(__doc__)
    try:
        requirement = Requirement(sys.argv[1])
    except InvalidRequirement as error:
        fail(f"not a requirement: {error}")
    python_version, destination = sys.argv[2], sys.argv[3]
    try:
        candidates = [*local_candidates(requirement.name), *index_candidates(requirement.name)]
    except (urllib.error.URLError, OSError, ValueError) as error:
        fail(f"{requirement.name}: {error}", status=4)
    found = {}
    for version, candidate in candidates:
        if admits(candidate, python_version):
            found.setdefault(version, candidate)
    allowed = sorted(requirement.specifier.filter(found.keys()), reverse=True)
    if not allowed:
        versions = ", ".join(str(version) for version in sorted(found, reverse=True)[:10]) or "none"
        fail(f"no source distribution of {requirement} for python {python_version} (source versions: {versions})")
    version = allowed[0]
    os.makedirs(destination, exist_ok=True)
    try:
        archive = download(found[version], destination)
    except (urllib.error.URLError, OSError) as error:
        fail(f"{found[version]['filename']}: download failed: {error}", status=4)
    try:
        requires = build_requires(archive)
    except (tarfile.TarError, zipfile.BadZipFile, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        fail(f"{os.path.basename(archive)}: unreadable source distribution ({error})")
    print(json.dumps({"file": archive, "name": requirement.name, "version": str(version), "build_requires": requires}))


if __name__ == "__main__":
    main()
