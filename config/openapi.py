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
* 400 to every operation: invalid input (a body, a filter, paging beyond its bounds), and on any
  operation a NUL character in the address or a form field (config.middleware.RefuseNulMiddleware);
* 413 and 415 to every operation that reads a body (too large; sent without a Content-Type, or
  another one);
* 500 to every operation, with the Error shape (config/urls.py's handler500 answers JSON under /api/).

* 414 to every operation: a request line over 4,094 bytes (a very long query string) is refused by
  gunicorn before Django sees it, in plain text — the one answer under /api/ that is not JSON.
"""

import re

ERROR = "Error"
VALIDATION_ERRORS = "ValidationErrors"
ANY_JSON = "AnyJson"

SCHEMAS = {
    ERROR: {
        "type": "object",
        "properties": {
            "detail": {"type": "string"},
            "code": {"type": "string", "description": "A machine-readable reason, on some errors."},
        },
        "required": ["detail"],
    },
    ANY_JSON: {
        "description": "Any JSON value without a NUL character in its text (what the API's parser refuses).",
        "anyOf": [{"type": "number"}, {"type": "boolean"}, {"type": "string", "pattern": "^[^\\u0000]*$"},
                  {"type": "array", "items": {"$ref": f"#/components/schemas/{ANY_JSON}"}},
                  {"type": "object", "additionalProperties": {"$ref": f"#/components/schemas/{ANY_JSON}"}}],
        "nullable": True,
    },
    VALIDATION_ERRORS: {
        "type": "object",
        "description": 'Field or parameter → messages, e.g. {"amount": ["…"]}; "non_field_errors" for the '
                       'body as a whole, {"detail": "…"} for a body that can\'t be parsed. A nested field '
                       "nests its messages the same way.",
        "additionalProperties": {},
    },
}

def _ref(name: str) -> dict:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def _error(description: str, name: str = ERROR) -> dict:
    return {"description": description, **_ref(name)}


TRACK_ID = "^([A-Za-z0-9_-]{22})?$"  # a click or visitor id, or empty (not given)
NO_NUL = "^[^\\u0000]*$"  # a JSON Schema (ECMA 262) pattern: any text without a NUL character


def _refuse_nul(schema: dict) -> None:
    """A free-text string sent to the API can't hold a NUL (PostgreSQL can't store one; the API
    answers 400): said with a pattern, so generated data and clients know."""
    if schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema):
        schema["pattern"] = NO_NUL
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _refuse_nul(schema[key])
    for nested in schema.get("properties", {}).values():
        _refuse_nul(nested)
    if schema.get("type") == "object" and "additionalProperties" not in schema:
        # Fields the API doesn't read are ignored, but NUL-free like the rest of the body (their names
        # too, which OpenAPI 3.0 can't say: propertyNames is JSON Schema 2019+).
        schema["additionalProperties"] = {"$ref": f"#/components/schemas/{ANY_JSON}"}
    for nested in schema.get("allOf", []) + schema.get("anyOf", []) + schema.get("oneOf", []):
        _refuse_nul(nested)


# Rules across fields that the serializers' validate() enforce, written where JSON Schema can say
# them (anyOf of required sets, one-value enums: OpenAPI 3.0 has no const), in words where it
# can't (an order between two dates).
CONSTRAINTS = {
    "LeadRequestRequest": {
        "anyOf": [{"required": [name], "properties": {name: {"type": "string", "minLength": 1}}}
                  for name in ("click_id", "visitor_id", "email", "customer_external_id")],
        "description": "Who the lead is: at least one of click_id, visitor_id, email, customer_external_id "
                       "(not empty).",
    },
    "RewardRuleRequest": {
        "anyOf": [
            {"properties": {"amount_kind": {"enum": ["flat"]}, "amount": {"type": "string"}}, "required": ["amount"]},
            {"properties": {"amount_kind": {"enum": ["percent"]}, "event": {"enum": ["sale"]},
                            "unit": {"enum": ["money"]}, "percent": {"type": "string"}},
             "required": ["amount_kind", "event", "unit", "percent"]},
        ],
        "description": "A flat rule (amount_kind flat, the default) gives its amount; a percent rule is a money "
                       "rule on sales and gives its percent. starts_at is before ends_at; a cap has a cap_period.",
    },
    "ProgrammeReportRequestRequest": {
        "anyOf": [{"properties": {"period": {"not": {"enum": ["custom"]}}}},
                  {"properties": {"period": {"enum": ["custom"]}}, "required": ["period", "start", "end"]}],
        "description": "A preset period, or custom with start and end (start ≤ end, at most 1,098 days).",
    },
    "ReplayRangeRequest": {"description": "since is before until, at most 30 days apart."},
    "CampaignMessageRequest": {
        "anyOf": [{"properties": {"channel": {"enum": ["email"]}}},
                  {"properties": {"subject": {"maxLength": 0}}}],
        "description": "A post for one network; only e-mail messages have a subject. The text (with {link}) "
                       "fits the network's limit; at most 5 variants per network and campaign.",
    },
    # The serializer names each unknown field in a 400 (tracking.api.serializers).
    "PatchedTrackingSettingsRequest": {"additionalProperties": False},
}


# What some text fields must look like, as the models' validators check it (patterns in the schema).
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST = rf"^(?:{LABEL}\.)+(?:[A-Za-z]{{2,63}}|[Xx][Nn]--[A-Za-z0-9-]{{1,59}})$"  # campaigns.models.validate_host
URL_HOST = r"(?:[^\s/?#@:.\[\]\\\u0000]+(?:\.[^\s/?#@:.\[\]\\\u0000]+)+|localhost)"
URL = rf"[Hh][Tt][Tt][Pp][Ss]?://{URL_HOST}(?::\d{{1,5}})?(?:[/?#][^\s\u0000]*)?"  # validate_destination
PATTERNS = {
    "host": ("^" + HOST[1:-1] + "$", ["DomainRequest", "PatchedDomainRequest"]),
    "destination_url": (f"^{URL}$", ["CampaignRequest", "PatchedCampaignRequest"]),
    "fallback_url": (f"^(?:{URL})?$", ["CampaignRequest", "PatchedCampaignRequest"]),
}
# Decimal amounts in strings: at least one digit (drf-spectacular's pattern allows "" and "-"), and
# the sign the serializer's min_value allows.
POSITIVE, NOT_NEGATIVE = "positive", "not negative"
DECIMALS = {
    ("CampaignCostRequest", "amount"): POSITIVE, ("PatchedCampaignCostRequest", "amount"): POSITIVE,
    ("SaleRequestRequest", "amount"): POSITIVE,
    ("CampaignRequest", "minutes_per_share"): NOT_NEGATIVE,
    ("PatchedCampaignRequest", "minutes_per_share"): NOT_NEGATIVE,
    **{("PatchedPointsRulesRequest", name): NOT_NEGATIVE
       for name in ("per_share", "per_unique_click", "per_lead", "per_revenue_unit")},
}
SPECTACULAR_DECIMAL = re.compile(r"^\^-\?\\d\{0,(\d+)\}\(\?:\\\.\\d\{0,(\d+)\}\)\?\$$")


def _decimal_pattern(pattern: str, sign: str | None) -> str:
    match = SPECTACULAR_DECIMAL.match(pattern)
    if not match:
        return pattern
    whole, places = int(match[1]), int(match[2])
    if sign == POSITIVE and places == 2:  # > 0: a non-zero digit somewhere
        return rf"^(?:0*[1-9]\d{{0,{whole - 1}}}(?:\.\d{{0,2}})?|0*\.(?:[1-9]\d?|0[1-9]))$"
    number = rf"(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})"
    return f"^{number}$" if sign in (POSITIVE, NOT_NEGATIVE) else f"^-?{number}$"


def _fix_formats(schemas: dict) -> None:
    for name, schema in schemas.items():
        if not name.endswith("Request"):
            continue
        for field, prop in schema.get("properties", {}).items():
            if prop.get("format") == "decimal" and "pattern" in prop:
                prop["pattern"] = _decimal_pattern(prop["pattern"], DECIMALS.get((name, field)))
            if field in PATTERNS and name in PATTERNS[field][1]:
                prop["pattern"] = PATTERNS[field][0]


# A name or address another object holds: a 409 {"detail", "code": "taken"} (common.service_errors).
TAKEN = {
    "/api/v1/o/{org_slug}/groups/": ("post",), "/api/v1/o/{org_slug}/groups/{id}/": ("put", "patch"),
    "/api/v1/o/{org_slug}/domains/": ("post",), "/api/v1/o/{org_slug}/domains/{public_id}/": ("put", "patch"),
}


def document_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in SCHEMAS.items():
        schemas.setdefault(name, schema)
    for name, constraint in CONSTRAINTS.items():
        if name in schemas:
            schemas[name].update(constraint)
    _fix_formats(schemas)
    for name in ("EndpointCreateRequest", "PatchedEndpointUpdateRequest"):  # "This list may not be empty."
        schemas.get(name, {}).get("properties", {}).get("events", {})["minItems"] = 1
    lead = schemas.get("LeadRequestRequest", {}).get("properties", {})
    for name in ("click_id", "visitor_id"):  # tracking.api.serializers.TrackIdField
        lead.get(name, {})["pattern"] = TRACK_ID
    if "metadata" in lead:
        lead["metadata"]["type"] = "object"
    for name, schema in schemas.items():
        if name.endswith("Request"):  # the request bodies' components (COMPONENT_SPLIT_REQUEST)
            _refuse_nul(schema)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if method in TAKEN.get(path, ()):
                responses.setdefault("409", _error("The name (or host) is taken by another group (or domain)."))
            security = [name for requirement in operation.get("security", []) for name in requirement]
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                _refuse_nul(parameter.get("schema", {}))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                _refuse_nul(content.get("schema", {}))
                if content.get("schema", {}).get("$ref", "").endswith("/LeadRequestRequest"):
                    operation["requestBody"]["required"] = True  # it names the lead: never empty
            responses.setdefault("400", _error(
                "Invalid input: messages per field or parameter; {\"detail\": …} for a body that can't be read "
                "or a NUL character (%00) in the address or a form field.", VALIDATION_ERRORS))
            if security:
                responses.setdefault("401", _error("Not signed in, or a missing, unknown or revoked API key."))
            if "cookieAuth" in security:
                responses.setdefault("403", _error("Not allowed: the role is too low, the CSRF token is missing, "
                                                   "or an API key was sent (these endpoints are for people)."))
            if any(p["in"] == "path" for p in parameters):
                responses.setdefault("404", _error("No such organisation (or you are not a member) or object."))
            if "requestBody" in operation:
                responses.setdefault("413", _error("The body is larger than the server reads."))
                responses.setdefault("415", _error("The body's Content-Type is none of the documented ones."))
            responses.setdefault("500", _error("Server error (logged and reported; the answer says no more)."))
            responses.setdefault("414", {
                "description": "The request line (method, address and query string) is over 4,094 bytes: refused by "
                               "the web server (gunicorn) before the application, in plain text, not JSON.",
                "content": {"text/plain": {"schema": {"type": "string"}}}})
            for code, response in responses.items():  # an error a view declares by its description alone
                if code[0] in "45" and "content" not in response:
                    response.update(_ref(VALIDATION_ERRORS if code == "400" else ERROR))
            operation["responses"] = dict(sorted(responses.items()))
    return result


# Where a created object's id appears under another collection than its own (source path, target prefix).
ELSEWHERE = [("/api/v1/o/{org_slug}/my/campaigns/{public_id}/link/", "/api/v1/o/{org_slug}/my/links/")]


def _fields(result, response: dict) -> set:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = result["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema.get("properties", {}))


def _link(responses: dict, target: dict, parameters: dict, description: str) -> None:
    for code, response in responses.items():
        if code.startswith("2"):
            response.setdefault("links", {})[target["operationId"]] = {
                "operationId": target["operationId"], "parameters": parameters, "description": description}


def link_operations(result, generator, request, public):
    """OpenAPI links between operations, so a client (or schemathesis' stateful tests) can chain
    create → read → update → delete: a POST to a collection links to each operation on the object
    it created (the id from its answer, the rest of the path from the request), and an operation on
    an object links to the others on the same object (a read after a delete must be a 404)."""
    operations = [(path, method, operation) for path, methods in result.get("paths", {}).items()
                  for method, operation in methods.items()]

    def params(path):
        return re.findall(r"\{(\w+)\}", path)

    for path, method, operation in operations:
        responses = operation.get("responses", {})
        created = set().union(*(_fields(result, response) for code, response in responses.items()
                                if code.startswith("2")))
        prefixes = [path] + [target for source, target in ELSEWHERE if source == path]
        for target_path, target_method, target in operations:
            if method == "post":  # a creation: the new object's id
                for prefix in prefixes:
                    rest = target_path[len(prefix):] if target_path.startswith(prefix) else ""
                    match = re.match(r"\{(\w+)\}", rest)
                    field = match and (match[1] if match[1] in created else "id" if "id" in created else None)
                    if field and set(params(target_path)) - {match[1]} <= set(params(path)):
                        parameters = {name: f"$request.path.{name}" for name in params(target_path) if name != match[1]}
                        _link(responses, target, {**parameters, match[1]: f"$response.body#/{field}"},
                              f"The object just created, with {target_method.upper()} {target_path}.")
            # The same object, another operation on it (the organisation itself is no object here).
            base = path[:path.rfind("}") + 1]
            if (set(params(path)) - {"org_slug"} and target is not operation and target_path.startswith(base)
                    and params(target_path) == params(path)):
                _link(responses, target, {name: f"$request.path.{name}" for name in params(path)},
                      f"The same object, with {target_method.upper()} {target_path}.")
    return result
