"""The one settings object. Every field can be set by an environment variable BUDGETQA_<FIELD>."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BUDGETQA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(ROOT / "data", description="Folder of bundled disclosure PDFs ingested on first start.")
    index_dir: Path = Field(
        ROOT / "data" / "index",
        description="Where the service keeps its index: SQLite database, Chroma files, copies of PDFs, page images.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the table store; default SQLite in index_dir. "
        "For PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    chroma_host: str | None = Field(None, description="Chroma server host; unset = embedded Chroma in index_dir.")
    chroma_port: int = Field(8000, description="Chroma server port (used with chroma_host).")
    chroma_collection: str = Field("budgetqa", description="Name of the Chroma collection prefix.")
    embedding: str = Field(
        "local",
        description="Embedding backend: 'local' (character n-gram hashing, offline, no model), "
        "'sentence-transformers' (a model from embedding_model_path) or 'openai' (an OpenAI-compatible "
        "embeddings endpoint at embedding_base_url).",
    )
    embedding_model_path: str | None = Field(None, description="Local directory of a sentence-transformers model.")
    embedding_base_url: str | None = Field(None, description="OpenAI-compatible embeddings endpoint (e.g. Ollama).")
    embedding_api_key: str | None = Field(None, description="API key for the embeddings endpoint.")
    embedding_model: str = Field("bge-m3", description="Model name at the embeddings endpoint.")
    embedding_dim: int = Field(512, description="Dimension of the local hashing embedding.")
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible chat endpoint (DeepSeek, Qwen, Ollama, vLLM); unset = no LLM."
    )
    llm_api_key: str | None = Field(None, description="API key for the LLM endpoint (never shown in the UI).")
    llm_model: str | None = Field(None, description="Model name at the LLM endpoint.")
    llm_timeout: float = Field(30.0, description="Seconds to wait for the LLM before answering without it.")
    workers: int = Field(
        max(1, min(4, os.cpu_count() or 1)), description="Processes used to parse PDF pages during ingest."
    )
    top_k: int = Field(5, description="How many rows/passages retrieval returns by default.")
    render_resolution: int = Field(110, description="DPI of page images rendered for citations in the chat.")
    upload_dir: Path | None = Field(None, description="Temporary folder for uploads; default a system temp dir.")

    @property
    def sql_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.index_dir / 'budget.sqlite'}"

    @property
    def pdf_dir(self) -> Path:
        return self.index_dir / "pdf"

    @property
    def chroma_dir(self) -> Path:
        return self.index_dir / "chroma"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


@lru_cache(maxsize=1)
def _default() -> Settings:
    return Settings()


def get_settings(settings: Settings | None = None) -> Settings:
    """The given settings, or the process-wide default read from the environment once."""
    return settings if settings is not None else _default()
