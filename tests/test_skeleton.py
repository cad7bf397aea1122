"""The package facade, unit conversions, the coefficient-form seam and the CLI's error contract."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import simulator
from simulator import cli, units
from simulator.cooperation import coefficients
from simulator.cooperation.coefficients import SinrCoefficients, sinr


@pytest.mark.parametrize("module", [units, coefficients])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def test_unit_round_trips():
    x = np.array([-130.0, 0.0, 46.0])
    np.testing.assert_allclose(units.lin_to_db(units.db_to_lin(x)), x)
    np.testing.assert_allclose(units.w_to_dbm(units.dbm_to_w(x)), x)
    np.testing.assert_allclose(units.dbm_to_w(40.0), 10.0)  # 40 dBm = 10 W
    np.testing.assert_allclose(units.deg(units.rad(53.0)), 53.0)


def test_sinr_matches_explicit_sum():
    rng = np.random.default_rng(1)
    n_sat, n_user, m = 4, 3, 6
    b = rng.random((n_sat, n_user))
    G = rng.normal(size=(n_user, n_user, m, n_sat))
    p = rng.random((n_sat, n_user))
    c = SinrCoefficients(b=b, G=G, noise=0.3)
    expected = [
        (b[:, k] @ p[:, k]) ** 2
        / (sum(np.sum((G[k, j] @ p[:, j]) ** 2) for j in range(n_user)) + 0.3)
        for k in range(n_user)
    ]
    np.testing.assert_allclose(sinr(c, p), expected)
    # Broadcasting: a block of identical snapshots gives identical numbers.
    cb = SinrCoefficients(b=np.stack([b, b]), G=np.stack([G, G]), noise=np.array([0.3, 0.3]))
    np.testing.assert_allclose(sinr(cb, np.stack([p, p])), np.stack([expected, expected]))


def test_version_and_facade():
    assert simulator.__version__
    assert issubclass(simulator.TLEError, simulator.LeosimError)


def test_cli_without_command_is_usage_error(capsys):
    assert cli.main([]) == 2


def test_cli_reports_leosim_error_in_one_line(monkeypatch, capsys):
    def boom(args):
        raise simulator.InputError("min_elevation_deg=95 outside [0, 90)")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser.set_defaults(func=boom)
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "leosim: error: min_elevation_deg=95 outside [0, 90)"


def test_lazy_facade_resolves_every_public_name():
    for name in simulator.__all__:
        assert getattr(simulator, name) is not None, name
    with pytest.raises(AttributeError):
        simulator.not_a_name  # noqa: B018
