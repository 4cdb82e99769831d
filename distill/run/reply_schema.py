"""The JSON schema of a model's JSON reply, from the pydantic model that also validates it (instructor's idea):
one declaration, so the schema sent as `response_format` and the check of the reply cannot drift apart.

The schema is the strict form OpenAI's structured outputs, vLLM and llama.cpp grammars accept: an object with
`additionalProperties: false`, every field required, and per field only `type`, `enum`, `minimum` and `maximum`
(no titles, no defaults), in that key order, fields in declaration order. So the request bytes (and cache keys)
of a stage whose schema used to be a hand-written dict of that form stay exactly the same.

    class Tags(BaseModel):
        difficulty: Literal["easy", "hard"]
        score: int = Field(ge=0, le=1)

    reply_schema(Tags) == {"type": "object", "additionalProperties": False, "required": ["difficulty", "score"],
                           "properties": {"difficulty": {"type": "string", "enum": ["easy", "hard"]},
                                          "score": {"type": "integer", "minimum": 0, "maximum": 1}}}
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

KEPT = ("type", "enum", "minimum", "maximum")  # a field's schema keys, in the order they are written


@cache
def reply_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The strict JSON schema of `model`'s fields (see the module doc). Raises TypeError for a field whose schema
    needs more than `KEPT` (nested objects, unions): such a reply is not one a stage helper reads."""
    generated = model.model_json_schema()["properties"]
    properties = {}
    for name, field in generated.items():
        unknown = set(field) - set(KEPT) - {"title", "default", "description"}
        if unknown:
            raise TypeError(f"{model.__name__}.{name}: a reply field's schema may use {', '.join(KEPT)} only, "
                            f"not {', '.join(sorted(unknown))}")
        properties[name] = {key: field[key] for key in KEPT if key in field}
    return {"type": "object", "additionalProperties": False, "required": list(properties),
            "properties": properties}
