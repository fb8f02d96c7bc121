"""HR pages: rosters, curricula, completion status and exports. Only HR and admins."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("hr", __name__, url_prefix="/hr")
