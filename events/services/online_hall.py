"""The month's online hall: every zone of the institutions taking part in the event, its exclusive products, the
schedule of livestreams and talks, and the policies of the chain; filtered by financing type and region served.

Region rule as the catalogue's: a zone, product or host with no regions serves the whole country; otherwise one of
its regions must contain the chosen one (GB/T 2260 prefixes).
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.clock import shanghai_today, utcnow
from core.extensions import db
from core.regions import region_covers
from events import ports
from events.models import Event, EventSession
from events.services.online import BROADCAST_KINDS, participating_institution_ids, viewer_counts
from market.enums import ProductStatus
from market.models import Institution, Product
from market.services import CatalogueFilter, catalogue


def serves_region(region_codes, region_code: str | None) -> bool:
    """No codes: nationwide. Otherwise one of them must contain `region_code` (GB/T 2260 prefix rule, as the
    catalogue's product filter)."""
    if not region_code or not list(region_codes):
        return True
    return any(region_covers(code, region_code) for code in region_codes)


@dataclass
class ZoneCard:
    institution: Institution
    types: list[str]
    product_count: int
    exclusive_count: int
    next_stream: EventSession | None


@dataclass
class Hall:
    event: Event
    zones: list[ZoneCard]
    exclusive_products: list[Product]
    schedule: list[EventSession]
    viewers: dict[int, int]
    policies: list
    financing_type: str | None = None
    region_code: str | None = None


def _stream_fits(session: EventSession, financing_type: str | None, region_code: str | None,
                 offered: dict[int, set[str]]) -> bool:
    host = session.host_institution
    if financing_type:
        by_session = financing_type in (session.financing_types or [])
        by_host = host is not None and financing_type in offered.get(host.id, set())
        general = not session.financing_types and host is None
        if not (by_session or by_host or general):
            return False
    return host is None or serves_region(host.region_codes, region_code)


def hall(event: Event, financing_type: str | None = None, region_code: str | None = None,
         now: datetime | None = None) -> Hall:
    """Every zone of the institutions taking part, the exclusive products, the streams and the chain's policies."""
    now = now or utcnow()
    ids = participating_institution_ids(event)
    institutions = list(db.session.scalars(select(Institution).where(Institution.id.in_(ids))
                                           .order_by(Institution.kind, Institution.name))) if ids else []
    products = list(db.session.scalars(select(Product).where(
        Product.institution_id.in_(ids), Product.status == ProductStatus.ACTIVE))) if ids else []
    offered: dict[int, set[str]] = {}
    for product in products:
        offered.setdefault(product.institution_id, set()).add(product.type)
    schedule = [s for s in event.sessions if s.kind in BROADCAST_KINDS
                and _stream_fits(s, financing_type, region_code, offered)]
    cards = []
    for institution in institutions:
        if financing_type and financing_type not in offered.get(institution.id, set()):
            continue
        if not serves_region(institution.region_codes, region_code):
            continue
        own = [p for p in products if p.institution_id == institution.id]
        upcoming = [s for s in schedule if s.host_institution_id == institution.id and s.ends_at > now]
        cards.append(ZoneCard(institution=institution, types=sorted(offered.get(institution.id, set())),
                              product_count=len(own), exclusive_count=sum(p.is_exclusive for p in own),
                              next_stream=upcoming[0] if upcoming else None))
    shown = {card.institution.id for card in cards}
    exclusive = [p for p in catalogue(CatalogueFilter(type=financing_type, chain_code=event.chain.code,
                                                      region_code=region_code, exclusive_only=True))
                 if p.institution_id in shown]
    return Hall(event=event, zones=cards, exclusive_products=exclusive, schedule=schedule,
                viewers=viewer_counts(s.id for s in schedule), policies=chain_policies(event, now),
                financing_type=financing_type, region_code=region_code)


def chain_policies(event: Event, now: datetime | None = None) -> list:
    """Policies of the library that concern the event's chain, still valid and open to applications."""
    return ports.open_chain_policies(event.chain.code, shanghai_today(now))
