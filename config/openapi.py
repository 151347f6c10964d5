"""The error answers every API operation can give, documented in the OpenAPI schema.

drf-spectacular documents the successes a view declares; the errors that come from around the
view (authentication, the tenant middleware's 404 for an organisation you're not in, role
checks, validation) would otherwise be missing, and a client generated from the schema would
not know their shape. This postprocessing hook adds, where the operation doesn't declare them:

* 401 to every authenticated operation (no or a bad session / API key);
* 403 to the session operations (role too low, no CSRF token, or an API key sent to a
  /api/v1/o/<slug>/ URL: see tenancy.api_keys);
* 404 to every operation with a path parameter (another organisation's slug or object is a 404,
  like one that doesn't exist);
* 400 to every operation that reads a body or a filtering query parameter;
* 415 to every operation that reads a body (sent without a Content-Type, or another one).
"""

ERROR = "Error"
VALIDATION_ERRORS = "ValidationErrors"

SCHEMAS = {
    ERROR: {
        "type": "object",
        "properties": {
            "detail": {"type": "string"},
            "code": {"type": "string", "description": "A machine-readable reason, on some errors."},
        },
        "required": ["detail"],
    },
    VALIDATION_ERRORS: {
        "type": "object",
        "description": 'Field or parameter → messages, e.g. {"amount": ["…"]}; "non_field_errors" for the '
                       'body as a whole, {"detail": "…"} for a body that can\'t be parsed. A nested field '
                       "nests its messages the same way.",
        "additionalProperties": {},
    },
}

PAGING = {"limit", "offset"}


def _ref(name: str) -> dict:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def _error(description: str, name: str = ERROR) -> dict:
    return {"description": description, **_ref(name)}


def document_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in SCHEMAS.items():
        schemas.setdefault(name, schema)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            security = [name for requirement in operation.get("security", []) for name in requirement]
            parameters = operation.get("parameters", [])
            takes_input = "requestBody" in operation or any(
                p["in"] == "query" and p["name"] not in PAGING for p in parameters)
            if takes_input:
                responses.setdefault("400", _error("Invalid input: messages per field or parameter.",
                                                   VALIDATION_ERRORS))
            if security:
                responses.setdefault("401", _error("Not signed in, or a missing, unknown or revoked API key."))
            if "cookieAuth" in security:
                responses.setdefault("403", _error("Not allowed: the role is too low, the CSRF token is missing, "
                                                   "or an API key was sent (these endpoints are for people)."))
            if any(p["in"] == "path" for p in parameters):
                responses.setdefault("404", _error("No such organisation (or you are not a member) or object."))
            if "requestBody" in operation:
                responses.setdefault("415", _error("The body's Content-Type is none of the documented ones."))
            operation["responses"] = dict(sorted(responses.items()))
    return result
