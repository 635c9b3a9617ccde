"""The JSON API under /api/v1 (flask-smorest + marshmallow), described at /api/openapi.json."""

from __future__ import annotations

import http

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields
from werkzeug.routing import IntegerConverter

from som_flow.extensions import csrf
from som_flow.web.api.openapi import ProtocolPlugin


def digits_up_to(limit: int) -> str:
    """A regex matching the decimal numbers 0..limit (`digits_up_to(255)`: 1-2 digits, or 0-1 then 2 digits,
    or 2 0-4 then 1 digit, or 25 0-4, or 255)."""
    text = str(limit)
    alternatives = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        if digit != "0":
            alternatives.append(f"{text[:i]}[0-{int(digit) - 1}][0-9]{{{len(text) - i - 1}}}")
    return "(?:" + "|".join(alternatives + [text]) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>` bounded to the id columns (32-bit INTEGER): a larger id is a 404, not an overflow in the driver.

    The bound is in the regex, so a larger id matches no route at all: werkzeug answered a converter's refusal
    with 405 when the same path had a route for another method."""

    MAX = 2**31 - 1

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's parameter name
        kwargs.setdefault("max", self.MAX)
        super().__init__(map, *args, **kwargs)
        self.regex = digits_up_to(kwargs["max"])


class ProblemSchema(Schema):
    """RFC 9457 problem details, as `som_flow.web.errors.problem` writes them."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


def decimal_as_string(converter, field, ret: dict, **kwargs) -> dict:
    """Money goes over the wire as "1000.00" (Decimal as_string); apispec would call it a number."""
    if isinstance(field, fields.Decimal) and field.as_string:
        # a string has no numeric bounds in JSON Schema; the Range validator still enforces them on input
        ret.pop("minimum", None)
        ret.pop("maximum", None)
        return {"type": "string", "format": "decimal", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
    return {}


class ProblemApi(Api):
    """flask-smorest documents its error responses as application/json; ours are application/problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, "application/problem+json")
            if status == 401:
                response["headers"] = {"WWW-Authenticate": {
                    "description": 'Bearer realm="som_flow", with error="invalid_token" when the token was wrong',
                    "schema": {"type": "string"}}}
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error, as problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, "application/problem+json")
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def register_api(app: Flask) -> None:
    from som_flow.web.api import (
        activities,
        board,
        catalogs,
        customers,
        docs,
        forecast,
        imports,
        job_work,
        kinds,
        opportunities,
        users,
        work,
    )

    app.url_map.converters["int"] = IdConverter  # before any blueprint adds its rules
    api = ProblemApi(app, spec_kwargs={
        "extra_plugins": [ProtocolPlugin()],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
    api.ma_plugin.converter.add_attribute_function(decimal_as_string)
    for module in (users, catalogs, kinds, customers, opportunities, work, forecast, imports, activities, job_work,
                   board):
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    app.extensions["som_api"] = api
    app.register_blueprint(docs.bp)
