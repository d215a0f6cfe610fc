"""The organiser's desk: year plan, events, sessions, registrations review, matching, schedule, publication."""
from flask import Blueprint

bp = Blueprint("organiser", __name__, url_prefix="/organiser")
