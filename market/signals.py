"""What the market announces to the layers above it; it imports none of them (the audit log listens)."""
from blinker import Namespace

_market = Namespace()

# sender: the acting user; keyword `institution`: the reviewed Institution, already flushed.
institution_reviewed = _market.signal("institution-reviewed")
