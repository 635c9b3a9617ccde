"""/board: the pipeline board as the page shows it — a kind's open deals by stage, each with its signals and moves."""

from __future__ import annotations

from som_flow.errors import NotFound, ValidationFailed
from som_flow.schemas.board import BoardApiQuery, BoardSchema
from som_flow.services import board
from som_flow.services.forecast import default_currency
from som_flow.web.api.common import Blueprint
from som_flow.web.auth import ANY_ROLE, api_user, roles_required

blp = Blueprint("board", __name__, description="The pipeline board")


@blp.route("/board")
@roles_required(*ANY_ROLE)
@blp.arguments(BoardApiQuery, location="query")
@blp.response(200, BoardSchema)
def get_board(query):
    """The pipeline board: a kind's open deals by stage, with their signals.

    The oldest 50 of each column (one column, stage null, for a stageless kind) with their signals (on_hold,
    overdue, stale, no_next_activity) and allowed moves, and each column's count and totals over all the deals the
    viewer asked for (`who`, `only`).

    To read a long column on (as the board page's "Show more" does): `stage` gives only that column, `after` only
    the cards of deals with a higher id than the last one read, `per_column` (1-50, default 50) how many at most;
    the count and totals stay over all of the column's deals. A bad `per_column` or `after`, or a stage the kind
    does not have, is a 422 naming it.
    """
    try:
        kind = board.board_kind(query.get("kind"))
    except NotFound as exc:  # a filter naming no kind is a bad argument, named like any other
        raise ValidationFailed(exc.detail, {"kind": [exc.detail]}) from exc
    if kind is None:
        raise NotFound("There is no kind of opportunity yet.")
    return board.board(api_user(), kind, query.get("currency") or default_currency(),
                       who=query.get("who"), only=query.get("only"), per_column=query.get("per_column"),
                       stage=query.get("stage"), after=query.get("after", 0))
