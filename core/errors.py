"""The few named exceptions of the service; turned into messages only at the edges (CLI, Streamlit)."""


class BudgetQAError(Exception):
    """Base of every error the service raises on purpose."""


class IngestError(BudgetQAError):
    """A file could not be ingested; the message is a one-line reason for the user."""


class NotAPDFError(IngestError):
    """The file is not a PDF."""


class EncryptedPDFError(IngestError):
    """The PDF is encrypted and cannot be read without a password."""


class DamagedPDFError(IngestError):
    """The PDF is damaged or truncated."""


class NoTextLayerError(IngestError):
    """The PDF has no text layer (a scan); it would need OCR."""


class StoreError(BudgetQAError):
    """The table store or vector index failed or is inconsistent."""


class DocumentNotFoundError(StoreError):
    """A document id or name that is not in the index."""


class LLMError(BudgetQAError):
    """The configured LLM endpoint failed or returned something unusable."""
