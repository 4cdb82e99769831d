"""The typed run config every recipe YAML is validated against (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from distill.errors import InputError
from distill.executors.base import ExecutorSpec
from distill.io.inputs import InputSpec
from distill.io.path_policy import PathPolicy
from distill.providers.base import GenerationParams
from distill.providers.options import LocalSpec
from distill.providers.registry import provider_spec, short_form
from distill.providers.spec import ProviderSpec
from distill.quality.config import QualitySpec, SelectSpec
from distill.yaml_source import YamlSource


class PushSpec(BaseModel):
    """`push:` — publish the run to the Hugging Face Hub when it finishes (same as `distill push`)."""

    model_config = ConfigDict(extra="forbid")
    repo_id: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    private: bool = False
    config_name: str = "default"
    split: str = "train"
    format: str = "messages"
    license: str = "other"

    @field_validator("repo_id", "config_name", "split")
    @classmethod
    def _hub_name(cls, v: str, info: Any) -> str:
        from distill import hub_names as names

        check = {"repo_id": names.repo_id_problem, "config_name": names.config_name_problem,
                 "split": names.split_problem}[info.field_name]
        problem = check(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("format")
    @classmethod
    def _known_format(cls, v: str) -> str:
        if v not in ("messages", "alpaca", "sharegpt", "preference"):
            raise ValueError("format: choose one of messages, alpaca, sharegpt, preference")
        return v


# `report:` in a recipe: the report `distill run` writes when it finishes (`report: false` turns it off)
class ReportSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # The run-end report stays cheap: no sentence embeddings unless asked for (`distill report RUN` embeds by
    # default). Asked for but not installed, the embedding sections are skipped with a note; the run never fails.
    embeddings: bool = False
    embedding_model: str = "default"  # default | a sentence-transformers folder | openai:MODEL@BASE_URL
    reference: str | None = None  # a JSONL file, a run folder or a `datasets` dataset
    benchmarks: list[str] = Field(default_factory=list)  # JSONL files of benchmark questions
    # Records the per-text figures (lexical diversity, self-similarity, verbs, embeddings) are computed on: a
    # seeded uniform sample beyond this; counts, lengths and scores always cover every record.
    sample: int = Field(20_000, ge=10)


FollowUp = Literal["clarify", "deeper", "constraint", "push_back"]
DEFAULT_FOLLOWUPS: list[FollowUp] = ["clarify", "deeper", "constraint", "push_back"]


class MultiTurnSpec(BaseModel):
    """`multi_turn:` in a recipe YAML (used when `turns:` is 2 or more)."""

    model_config = ConfigDict(extra="forbid")
    followups: list[FollowUp] = Field(default_factory=lambda: list(DEFAULT_FOLLOWUPS), min_length=1)
    user: GenerationParams = GenerationParams(temperature=0.8, top_p=0.95, max_tokens=200)
    assistant: GenerationParams | None = Field(None, description="the answers' sampling; unset: `generation:`")


class BudgetSpec(BaseModel):
    """`budget:` — the most the run folder may spend over all its runs, every role together (engine/budget.py).
    Reaching it stops the run, keeping every answer; raise it and run the same command again to continue."""

    model_config = ConfigDict(extra="forbid")
    usd: float | None = Field(None, gt=0, description="dollars, at each role's price (`price:` or the price table)")
    tokens: int | None = Field(None, ge=1, description="prompt and completion tokens")

    @model_validator(mode="after")
    def _something(self) -> BudgetSpec:
        if self.usd is None and self.tokens is None:
            raise ValueError("budget: give usd, tokens or both")
        return self


def _provider(value: Any) -> Any:
    """Each role's mapping is validated against its provider's own keys (`providers/options.py`)."""
    return None if value is None else provider_spec(value)


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipe: str
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str | None = None
    teacher: SerializeAsAny[ProviderSpec] = LocalSpec()  # SerializeAsAny: the manifest keeps each provider's keys
    judge: SerializeAsAny[ProviderSpec] | None = None
    answer_teacher: SerializeAsAny[ProviderSpec] | None = None
    reward: SerializeAsAny[ProviderSpec] | None = None
    quality: QualitySpec | None = None
    select: SelectSpec | None = None
    generation: GenerationParams = GenerationParams()
    input: InputSpec | None = None
    num: int | None = Field(None, ge=1, le=2**36 - 1)  # the run folder orders up to 2**36 items per stage
    seed: int = 0
    out: str | None = None
    push: PushSpec | None = None
    executor: ExecutorSpec = ExecutorSpec()
    report: bool | ReportSpec = True  # the data report written at the end (distill/report/); false: none
    options: dict[str, Any] = Field(default_factory=dict)
    prompts: dict[str, str] = Field(default_factory=dict, description=(
        "replace packaged templates with your own files: {'respond/user.j2': my_user.j2}; a file may use only "
        "the variables the stage passes"))
    budget: BudgetSpec | None = None  # what the run folder may spend at most (engine/budget.py)
    turns: int = Field(1, ge=1, le=16, description="extend each record into a conversation of this many turns")
    multi_turn: MultiTurnSpec | None = None
    keep_reasoning: bool = Field(False, description="keep a reasoning model's thinking behind each answer (a <think> "
                                 "block or the server's reasoning field) in the record's `reasoning` field, as the "
                                 "reasoning recipe does, for `distill export --format think_inline | "
                                 "reasoning_content | thinking`; it is always removed from the text a recipe reads")
    files_root: str | None = Field(None, description=(
        "the folder that the files a recipe's options name (a lab taxonomy, knowledge_qa documents) and every "
        "file a taxonomy names (its qna.yaml leaves, their documents) must lead inside, after `..` and symlinks; "
        "relative to the recipe file; default: the recipe file's folder. /proc, /dev and /sys are never read, "
        "whatever it says. `input:` is not bound by it"))
    _base: Path = PrivateAttr(default_factory=Path.cwd)

    def resolve(self, value: str) -> Path:
        """A file named in the recipe, relative to the recipe file."""
        return Path(resolve_path(value, self._base))

    def path_policy(self) -> PathPolicy:
        """The files root (`files_root`, or the recipe file's folder) as the policy every such read goes through."""
        root = self._base / Path(self.files_root).expanduser() if self.files_root else self._base
        return PathPolicy(root)

    _check_teacher = field_validator("teacher", "judge", "answer_teacher", "reward", mode="before")(_provider)

    @model_validator(mode="after")
    def _gate_is_complete(self) -> RunConfig:
        if self.select is not None and self.quality is None and self.reward is None:
            raise ValueError("select: needs scores to select on; add quality: (a judge rubric) or reward:")
        return self

    def run_name(self) -> str:
        return self.name or self.recipe

    def roles(self) -> dict[str, ProviderSpec | None]:
        """Each model role and its spec (None where the config names none)."""
        return {"teacher": self.teacher, "judge": self.judge, "answer_teacher": self.answer_teacher,
                "reward": self.reward}


def check_api_keys(cfg: RunConfig, src: YamlSource) -> None:
    """Every role's API key variable, at config time (`validate` and `run`): a variable the config names that is
    unset, or a hosted API with no key, fails here naming the file and line (providers/api_key.py)."""
    from distill.providers.api_key import check_roles

    check_roles(cfg.roles(), src.where)


def format_validation(exc: ValidationError, where: Any) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + _did_you_mean(loc) + " (`distill validate --schema` lists the allowed keys)"
        lines.append(f"{where(loc)}: {key}: {msg}")
    return "\n".join(lines)


def _did_you_mean(loc: tuple[Any, ...]) -> str:
    """`; did you mean 'temperature'?` for a misspelt key of the run config or one of its sections."""
    import difflib

    model: Any = RunConfig
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return ""
        model = next((a for a in (field.annotation, *getattr(field.annotation, "__args__", ()))
                      if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return ""
    known = list(getattr(model, "model_fields", {}))
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def load_config(path: Path, overrides: dict[str, Any] | None = None,
                sets: list[tuple[str, Any, str]] | None = None) -> tuple[RunConfig, YamlSource]:
    """Load and validate a recipe YAML, apply CLI overrides (top-level values, then `--set` dotted keys), resolve
    file paths relative to the YAML."""
    from distill.overrides import apply_sets

    src = YamlSource.load(path)
    data = dict(src.data)
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = merge_short_form(data.get(key), value) if key in ("teacher", "judge") else value
    origins = apply_sets(data, sets or [])
    src.origins.update(origins)
    from distill.secrets import register_config

    register_config(data)  # before anything can quote them: every message and file masks them by value
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise InputError(format_validation(exc, src.where)) from None
    cfg._base = path.parent
    if cfg.input is not None:
        cfg.input.path = resolve_path(cfg.input.path, path.parent)
    cfg.prompts = {name: str((path.parent / Path(file).expanduser()).resolve()) for name, file in cfg.prompts.items()}
    return cfg, src


def merge_short_form(current: Any, value: Any) -> Any:
    """`--teacher openai:MODEL@URL` over the recipe's `teacher:` mapping. The short form names the endpoint
    (provider, model, base_url); the rest of the mapping (supports_n, price, max_concurrency, timeouts, extra_body,
    ...) is kept when the provider is the same. Another provider starts from the short form alone, since those
    keys were written for a different backend."""
    if not isinstance(value, str):
        return value
    try:
        new = short_form(value)
    except ValueError:
        return value  # validation reports it
    base = short_form(current) if isinstance(current, str) else current
    if not isinstance(base, dict) or base.get("provider", "local") != new["provider"]:
        return new
    kept = {k: v for k, v in base.items() if k not in ("model", "base_url", "path")}
    return {**kept, **new}


def resolve_path(value: str, base: Path) -> str:
    """Paths in a recipe are relative to the recipe file; a dataset name like `org/name` stays as it is."""
    p = Path(value).expanduser()
    if p.is_absolute():
        return str(p)
    candidate = base / p
    if candidate.exists() or p.suffix in (".jsonl", ".json", ".parquet", ".csv", ".txt", ".md", ".yaml"):
        return str(candidate)
    return value
