"""Download step: fetch a UEA dataset's two .ts files from aeon, an archive URL or a mirror.

Every source ends in the same place, `{out_dir}/{dataset}_{TRAIN,TEST}.ts` plus a
`source.json` record, and every write is atomic: the files appear only once all of them
are complete and verified, so a failed or interrupted download leaves nothing behind.
"""

from __future__ import annotations

import http.client
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from synthtl.files import sha256_of

log = logging.getLogger(__name__)

CHUNK = 1 << 16
SPLITS = ("TRAIN", "TEST")


class DownloadError(RuntimeError):
    """A dataset could not be fetched or failed a check; the message names the dataset and source."""


class _Transient(Exception):
    """An HTTP attempt failed in a way another attempt may not (cut connection, truncated body)."""


def embedded_dir(dataset: str) -> Path:
    """The folder in which the installed aeon package ships `dataset`, or a DownloadError."""
    spec = importlib.util.find_spec("aeon")  # located, not imported: importing aeon takes seconds
    if spec is None or not spec.submodule_search_locations:
        raise DownloadError(f"{dataset}: source.kind=embedded needs the aeon package, which is not installed")
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / dataset
    if not all((folder / f"{dataset}_{split}.ts").is_file() for split in SPLITS):
        raise DownloadError(f"{dataset}: not shipped inside the installed aeon package ({folder})")
    return folder


def dataset_url(base: str, dataset: str) -> str:
    """The zip's URL or path: a template with {dataset}, or a folder/base URL to append '{dataset}.zip' to."""
    if "{dataset}" in base:
        return base.format(dataset=dataset)
    return base.rstrip("/") + f"/{dataset}.zip"


def _http_get(url: str, target: Path, timeout_s: float, max_bytes: int) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "synthtl"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response, open(target, "wb") as out:
        declared = getattr(response, "length", None)  # http.client's parse of Content-Length (None if absent/invalid)
        if declared is not None and declared > max_bytes:
            raise DownloadError(f"{url}: {declared} bytes exceeds the limit of {max_bytes} (source.max_mb)")
        received = 0
        for block in iter(lambda: response.read(CHUNK), b""):
            received += len(block)
            if received > max_bytes:
                raise DownloadError(f"{url}: more than {max_bytes} bytes (source.max_mb)")
            out.write(block)
        if declared is not None and received != declared:
            raise _Transient(f"truncated download ({received} of {declared} bytes)")


def fetch_zip(url: str, target: Path, timeout_s: float, retries: int, max_bytes: int, backoff_s: float = 1.0) -> None:
    """Copy or download `url` to `target`; retry timeouts, connection errors and 5xx with exponential backoff."""
    if "://" not in url or url.startswith("file://"):
        source = Path(urllib.parse.urlparse(url).path if url.startswith("file://") else url)
        if not source.is_file():
            raise DownloadError(f"{source}: no such file in the mirror")
        if source.stat().st_size > max_bytes:
            raise DownloadError(f"{source}: {source.stat().st_size} bytes exceeds the limit of {max_bytes} (source.max_mb)")
        shutil.copyfile(source, target)
        return
    for attempt in range(retries + 1):
        try:
            _http_get(url, target, timeout_s, max_bytes)
            return
        except urllib.error.HTTPError as error:
            error.close()
            if error.code < 500:
                raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from error
            problem = f"HTTP {error.code} {error.reason}"
        except _Transient as error:
            problem = str(error)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            problem = str(getattr(error, "reason", error)) or type(error).__name__
        if attempt == retries:
            raise DownloadError(f"{url}: failed after {retries + 1} attempts, last: {problem}")
        wait = backoff_s * 2**attempt
        log.warning("%s: attempt %d failed (%s); retrying in %.1f s", url, attempt + 1, problem, wait)
        time.sleep(wait)


def unpack(zip_path: Path, dataset: str, out_dir: Path, max_bytes: int) -> None:
    """Extract exactly {dataset}_TRAIN.ts and {dataset}_TEST.ts; refuse unsafe or unexpected members."""
    expected = {f"{dataset}_{split}.ts" for split in SPLITS}
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as error:
        raise DownloadError(f"{dataset}: not a valid zip file ({error})") from error
    with archive:
        found = {}
        for info in archive.infolist():
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts:
                raise DownloadError(f"{dataset}: zip member {info.filename!r} would escape the target folder")
            if info.is_dir() or name.name.startswith(".") or "__MACOSX" in name.parts:
                continue
            if name.name not in expected or len(name.parts) > 2:
                raise DownloadError(
                    f"{dataset}: unexpected zip member {info.filename!r} (expected only {sorted(expected)})"
                )
            if name.name in found:
                raise DownloadError(f"{dataset}: zip holds {name.name} twice ({found[name.name].filename!r}, {info.filename!r})")
            if info.file_size > max_bytes:
                raise DownloadError(f"{dataset}: zip member {info.filename!r} unpacks to {info.file_size} bytes, "
                                    f"over the limit of {max_bytes} (source.max_mb)")
            found[name.name] = info
        missing = expected - set(found)
        if missing:
            raise DownloadError(f"{dataset}: zip lacks {sorted(missing)}")
        for name, info in found.items():
            try:
                with archive.open(info) as src, open(out_dir / name, "wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
                raise DownloadError(f"{dataset}: corrupt zip member {info.filename!r} ({error})") from error


def fetch(dataset: str, out_dir: str | Path, source: dict) -> dict:
    """Fetch `dataset` into `out_dir` from `source` (see get_source in common.smk); return the record written."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{dataset}.partial-"
    for stale in out_dir.parent.glob(f"{prefix}*"):  # left by a killed earlier attempt
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir.parent))
    try:
        record = {"dataset": dataset, "source": source["kind"]}
        if source["kind"] == "embedded":
            folder = embedded_dir(dataset)
            for split in SPLITS:
                shutil.copyfile(folder / f"{dataset}_{split}.ts", staging / f"{dataset}_{split}.ts")
            record["url"] = f"aeon {importlib.metadata.version('aeon')} (embedded)"
        else:
            max_bytes = int(source["max_mb"] * 2**20)
            url = dataset_url(source["url"], dataset)
            zip_path = staging / f"{dataset}.zip"
            try:
                fetch_zip(url, zip_path, source["timeout_s"], source["retries"], max_bytes, source.get("backoff_s", 1.0))
            except DownloadError as error:
                raise DownloadError(f"{dataset}: {error}") from error
            digest = sha256_of(zip_path)
            expected = source.get("sha256")
            if expected and digest.lower() != expected.lower():
                raise DownloadError(f"{dataset}: sha256 of {url} is {digest}, config source.sha256 expects {expected}")
            try:
                unpack(zip_path, dataset, staging, max_bytes)
            except DownloadError as error:
                raise DownloadError(f"{error} (from {url})") from error
            zip_path.unlink()
            record.update(url=url, zip_sha256=digest)
        record["files"] = {
            f"{dataset}_{split}.ts": sha256_of(staging / f"{dataset}_{split}.ts") for split in SPLITS
        }
        (staging / "source.json").write_text(json.dumps(record, indent=2) + "\n")
        out_dir.mkdir(exist_ok=True)
        # source.json last: its presence marks a complete download
        for name in [*record["files"], "source.json"]:
            os.replace(staging / name, out_dir / name)
        log.info("%s: fetched from %s", dataset, record["url"])
        return record
    finally:
        shutil.rmtree(staging, ignore_errors=True)
