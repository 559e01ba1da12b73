"""Reading the OpenAPI document as a client does: `$ref`s followed, `allOf`s merged."""

from __future__ import annotations

from typing import Any

PREFIX = "#/components/schemas/"


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every reference replaced by its component and every `allOf` merged into
    one object schema, all the way down (the document has no recursive schemas)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(PREFIX)
        return resolved(document, document["components"]["schemas"][name])
    result: dict[str, Any] = {}
    for part in [*(resolved(document, p) for p in schema.get("allOf", [])), schema]:
        properties = {**result.get("properties", {}), **part.get("properties", {})}
        required = [*result.get("required", []), *part.get("required", [])]
        result.update({k: v for k, v in part.items() if k != "allOf"})
        if properties:
            result["properties"] = properties
        if required:
            result["required"] = required
    if "properties" in result:
        result["properties"] = {k: resolved(document, v) for k, v in result["properties"].items()}
    if isinstance(result.get("items"), dict):
        result["items"] = resolved(document, result["items"])
    return result


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return document["paths"][path][method.lower()]


def request_body(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The resolved body schema of an operation (JSON, or multipart/form-data for uploads)."""
    [body] = operation(document, method, path)["requestBody"]["content"].values()
    return resolved(document, body["schema"])


def response_body(
    document: dict[str, Any], method: str, path: str, status: int | str
) -> dict[str, Any]:
    """The resolved JSON schema of one of an operation's responses."""
    response = operation(document, method, path)["responses"][str(status)]
    return resolved(document, response["content"]["application/json"]["schema"])


def payload_name(document: dict[str, Any], method: str, path: str) -> str:
    """The component an operation's success answers carry as `data` (one item of a list)."""
    responses = operation(document, method, path)["responses"]
    success = next(r for status, r in responses.items() if int(status) < 300)
    envelope = success["content"]["application/json"]["schema"]["$ref"].removeprefix(PREFIX)
    schema = document["components"]["schemas"][envelope]
    parts = [schema, *schema.get("allOf", [])]
    data = next(p["properties"]["data"] for p in parts if "data" in p.get("properties", {}))
    data = data.get("items", data)
    if "allOf" in data:  # a nullable or described reference
        (data,) = data["allOf"]
    return data["$ref"].removeprefix(PREFIX)
