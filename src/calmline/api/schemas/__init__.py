"""Request and response bodies of API v1 (``XCreate`` in, ``XPublic`` out).

Requests forbid unknown fields, so a misspelt field is a 422 naming it rather than silently
ignored. Responses mirror the engine's ``to_dict()`` documents (docs/api.md).
"""
