"""The organiser's dashboard and the Excel exports (汇总表)."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")
