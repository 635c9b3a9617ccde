"""The JSON API under /api/v1 (flask-smorest + marshmallow), described at /api/openapi.json."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from som_flow.extensions import csrf


def register_api(app: Flask) -> None:
    from som_flow.web.api import catalogs, customers, forecast, imports, kinds, opportunities, users, work

    api = Api(app, spec_kwargs={
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
    for module in (users, catalogs, kinds, customers, opportunities, work, forecast, imports):
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    app.extensions["som_api"] = api
