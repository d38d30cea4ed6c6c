"""looplab: a framework for studying LLM critique loops.

Subpackages, lowest layer first: ``llm`` (model backends), ``sandbox``,
``tools``, ``agents``, ``graphs``, ``evals``. See ARCHITECTURE.md.
"""

from looplab.errors import LooplabError
from looplab.records import Usage

__version__ = "0.1.0"

__all__ = ["LooplabError", "Usage", "__version__"]
