"""themecoder: code customer feedback into signal buckets, sentiment and expression type.

Nothing loads at import; ``Coder.load()`` reads the model artifact and models load lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Coder", "code_frame", "__version__"]

if TYPE_CHECKING:
    from themecoder.coder import Coder


def __getattr__(name: str) -> Any:
    if name == "Coder":
        from themecoder.coder import Coder

        return Coder
    raise AttributeError(name)


def code_frame(
    df: Any,
    text_column: str = "text",
    id_column: str | None = None,
    level: str = "item",
    coder: Any = None,
) -> Any:
    """Code a DataFrame's text column; returns a DataFrame (see ``Coder.code_frame``)."""
    from themecoder.coder import Coder

    return (coder or Coder.load()).code_frame(df, text_column, id_column, level)
