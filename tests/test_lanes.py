"""Lane state helpers of the replay (``simulator.engine.lanes``)."""

from __future__ import annotations

import numpy as np

from simulator.cooperation.algorithm1 import sca_power
from simulator.cooperation.coefficients import SinrCoefficients
from simulator.cooperation.schemes import SchemeDecision
from simulator.engine.lanes import carry_decision


def _decision(n_sat: int, n_user: int, seed: int) -> SchemeDecision:
    rng = np.random.default_rng(seed)
    coeffs = SinrCoefficients(b=rng.uniform(0.5, 2.0, (n_sat, n_user)), G=np.zeros((n_user, n_user, 1, n_sat)),
                              noise=1.0)
    d = sca_power(coeffs, np.ones((n_sat, n_user), bool))
    d = type(d)(**{**d.__dict__, "omega": rng.uniform(1.0, 5.0, (n_sat, n_user))})
    return SchemeDecision(power=d.power, mask=d.cluster, serving=np.full(n_user, -1), status=d.status, solver=d)


def test_carry_decision_keeps_shared_satellites_and_starts_new_ones_fresh():
    prev = _decision(3, 2, 1)
    old = np.array([10, 11, 12])
    new = np.array([12, 13, 10])                  # 11 left, 13 is new, order changed
    carried = carry_decision(prev, old, new)
    s = carried.solver
    np.testing.assert_array_equal(s.power[0], prev.solver.power[2])
    np.testing.assert_array_equal(s.power[2], prev.solver.power[0])
    np.testing.assert_array_equal(s.power[1], 0.0)
    np.testing.assert_array_equal(s.omega[1], 1.0)
    np.testing.assert_array_equal(s.omega[[0, 2]], prev.solver.omega[[2, 0]])
    assert not s.allowed[1].any() and s.allowed[[0, 2]].all()
    assert carried.power.shape == (3, 2) and not carried.mask[1].any()


def test_carry_decision_same_set_and_nothing_to_carry():
    prev = _decision(2, 2, 2)
    sats = np.array([4, 5])
    assert carry_decision(prev, sats, sats) is prev
    assert carry_decision(None, sats, sats) is None
    rule = SchemeDecision(power=np.ones((2, 2)), mask=np.ones((2, 2), bool), serving=np.zeros(2, int))
    assert carry_decision(rule, sats, np.array([5, 6])) is None
