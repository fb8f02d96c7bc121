"""Trainer pages: scored transcripts to review and overrule. Only trainers and admins."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("trainer", __name__, url_prefix="/trainer")
