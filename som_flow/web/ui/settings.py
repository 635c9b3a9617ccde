"""/settings: a person's own preferences — the language of their pages, messages and mail."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import refresh
from flask_login import current_user, login_required
from marshmallow import Schema, fields, validate

from som_flow.errors import ValidationFailed
from som_flow.i18n import LANGUAGE_NAMES, LANGUAGES, forget_page_language, gettext
from som_flow.services import users
from som_flow.web.forms import load_form
from som_flow.web.ui.deal_forms import plain_errors

bp = Blueprint("settings", __name__)


class LanguageFormSchema(Schema):
    # the form's "as my browser" is a blank value: no preference (null on the API)
    locale = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES))


@bp.before_request
@login_required
def _require_login():
    return None


def _page(form=None, errors=None, status: int = 200):
    chosen = form.get("locale", "") if form is not None else (current_user.locale or "")
    return render_template("settings.html", languages=LANGUAGE_NAMES, chosen=chosen, errors=errors or {}), status


@bp.route("/settings")
def settings_page():
    return _page()


@bp.route("/settings/language", methods=["POST"])
def set_language():
    try:
        data = load_form(LanguageFormSchema(), ["locale"])
    except ValidationFailed as exc:
        flash(exc.detail, "error")
        return _page(form=request.form, errors=plain_errors(exc.errors), status=422)
    users.set_language(current_user.id, data["locale"])
    refresh()  # this response, and its flash message, already in the language just chosen
    forget_page_language()
    flash(gettext("Saved: your pages are in %(language)s now.", language=LANGUAGE_NAMES[data["locale"]])
          if data["locale"] else gettext("Saved: your pages follow your browser's language."), "ok")
    return redirect(url_for("settings.settings_page"))
