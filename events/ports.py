"""What `events` uses of its sibling `policies`, which it may not import; chainmatch/web.py plugs these."""
from datetime import date

from core.ports import Port

# (chain_code, today) -> the policy rows still valid and open to applications that concern the chain,
# in the library's order (policies.services.open_policies_for_chain).
open_chain_policies: Port[[str, date], list] = Port("policies open to a chain's enterprises")
