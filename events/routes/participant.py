"""Pages of SMEs and institutions: the month's event, registration, requests, agenda, outcomes."""
from flask import Blueprint

bp = Blueprint("events", __name__, url_prefix="/events")
