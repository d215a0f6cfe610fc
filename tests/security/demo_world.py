"""The demo's world (`chainmatch demo`'s data) as the stage of the escaping walks: every page has something.

Its users sign in with the tests' password; `SIGN_UP_PASSWORD` is what the walks type into sign-up forms.
"""
from sqlalchemy import select

from chainmatch.accounts.models import User
from tests.conftest import DEMO_PASSWORD

USERS = {"sme": "sme@demo.local", "bank": "bank@demo.local", "organiser": "organiser@demo.local",
         "admin": "admin@demo.local"}
SIGN_UP_PASSWORD = "Xq7!vR2#pLm9-zT4w"


def load_demo_world(session) -> None:
    """Seeds, demo accounts and the demo's events, online half and policy answers; committed."""
    from events import demo as events_demo
    from events import demo_online
    from policies import demo as policies_demo
    from seeds.loader import load_all
    load_all(session, demo_accounts=True)
    for module in (events_demo, demo_online, policies_demo):
        module.load_demo(session)
    for user in session.scalars(select(User).where(User.email.in_(USERS.values()))):
        user.set_password(DEMO_PASSWORD)
    session.commit()
