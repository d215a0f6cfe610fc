"""The allocation's three routes — certified fast solve, guaranteed weights after a failed
certificate, bonus for competing accepted requests — all reach the brute-force optimum."""
from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings

from matchmaking import Request, allocation
from matchmaking.allocation import _certified, allocate

from .checks import matches_brute_force
from .oracle import instances

ROUTES = settings(max_examples=150, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_certificate_rejects_an_uncovered_enterprise_next_to_spare_room():
    # e0 – i0 unused although i0 has room and e0 has none: not optimal.
    ent, inst = np.array([0]), np.array([0])
    assert not _certified(ent, inst, np.array([False]), np.array([0]), np.array([1]),
                          np.array([1]), 1)
    assert _certified(ent, inst, np.array([True]), np.array([1]), np.array([1]),
                      np.array([0]), 1)


def test_certificate_rejects_a_third_meeting_before_a_second():
    # e0 has 3 meetings (i0, i1, i2), e1 has 1 (i3) but could take i2: move it.
    ent = np.array([0, 0, 0, 1, 1])
    inst = np.array([0, 1, 2, 3, 2])
    used = np.array([True, True, True, True, False])
    assert not _certified(ent, inst, used, np.array([3, 1]), np.array([3, 2]),
                          np.array([0, 0, 0, 0]), 4)


def test_competing_accepted_requests_keep_as_many_as_caps_allow():
    ent = np.array([0, 0, 1])
    inst = np.array([0, 1, 1])
    chosen = allocate(ent, inst, np.array([900, 100, 500]), np.array([True, True, True]),
                      ent_cap=np.array([1, 1]), inst_cap=np.array([1, 1])).chosen
    assert chosen.tolist() == [True, False, True]


@ROUTES
@given(instances(unavailable=False, max_ent=3, max_inst=4, max_slots=4, dense=True))
def test_guaranteed_weights_routematches_brute_force(inst):
    original = allocation._certified
    allocation._certified = lambda *args: False
    try:
        matches_brute_force(inst)
    finally:
        allocation._certified = original


@ROUTES
@given(instances(unavailable=False, max_ent=3, max_inst=4, max_slots=4, dense=True))
def test_competing_accepted_routematches_brute_force(inst):
    # e0 accepted every institution but may meet one: the accepted requests compete.
    first = replace(inst.enterprises[0], max_meetings=1)
    extra = tuple(Request(first.id, i.id, "accepted") for i in inst.institutions)
    matches_brute_force(replace(inst, enterprises=(first,) + inst.enterprises[1:],
                                 requests=inst.requests + extra))
