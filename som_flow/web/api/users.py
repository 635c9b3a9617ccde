"""/users: who am I, and user administration."""

from __future__ import annotations

from som_flow.schemas import UserCreateSchema, UserPreferencesSchema, UserSchema
from som_flow.services import users as user_service
from som_flow.web.api.common import Blueprint
from som_flow.web.auth import ANY_ROLE, api_user, roles_required

blp = Blueprint("users", __name__, description="Users and roles")


@blp.route("/users/me")
@roles_required(*ANY_ROLE)
@blp.response(200, UserSchema)
def me():
    """The caller: name, email, roles, timezone and language (`locale`)."""
    return api_user()


@blp.route("/users/me", methods=["PATCH"])
@roles_required(*ANY_ROLE)
@blp.arguments(UserPreferencesSchema)
@blp.response(200, UserSchema)
def patch_me(data):
    """Change the caller's own preferences (their language).

    `locale` is the language of their pages, messages, reminders and mail: `en`, `nb`, or `null` to follow the
    browser's Accept-Language (then the site's)."""
    return user_service.set_language(api_user().id, data["locale"])


@blp.route("/users")
@roles_required(*ANY_ROLE)
@blp.response(200, UserSchema(many=True))
def list_users():
    """List the users (to assign deals and tasks to)."""
    return user_service.list_users()


@blp.route("/users", methods=["POST"])
@roles_required()
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
def create_user(data):
    """Create a user with roles and a password."""
    return user_service.create_user(data["email"], data["name"], data["roles"], password=data["password"],
                                    timezone=data["timezone"])
