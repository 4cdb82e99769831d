"""distill: build instruction-tuning datasets from a teacher model.

Importing this package is cheap: heavy libraries (openai, aiohttp, datasets, transformers,
llama_cpp) are imported only by the code path that needs them.
"""

__version__ = "0.1.0"
