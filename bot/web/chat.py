"""The trainee's practice chat page. Everything it does after loading goes through `api`."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from bot.web.auth import require_role

bp = Blueprint("chat", __name__)


@bp.get("/")
@require_role()
def index():
    from bot.scoring import load_rubric

    # The scorecard lists criteria in the rubric's order; JSON answers do not keep key order.
    return render_template(
        "chat/index.html",
        max_message_chars=current_app.config["MAX_MESSAGE_CHARS"],
        criteria_order=[c.name for c in load_rubric().criteria],
    )
