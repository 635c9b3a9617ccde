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


class IdConverter(IntegerConverter):
    """`<int:...>` bounded to the id columns (32-bit INTEGER): a larger id is a 404, not an overflow in the driver."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's parameter name
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


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
    from som_flow.web.api import catalogs, customers, docs, forecast, imports, kinds, opportunities, users, work

    app.url_map.converters["int"] = IdConverter  # before any blueprint adds its rules
    api = ProblemApi(app, spec_kwargs={
        "extra_plugins": [ProtocolPlugin()],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
    api.ma_plugin.converter.add_attribute_function(decimal_as_string)
    for module in (users, catalogs, kinds, customers, opportunities, work, forecast, imports):
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    app.extensions["som_api"] = api
    app.register_blueprint(docs.bp)
