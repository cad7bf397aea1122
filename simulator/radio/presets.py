"""Named link budgets for the scenario's ``[radio] link_budget`` (TR 38.821 Set-1 and the papers' set-ups).

A preset fills the ``[radio]`` fields a scenario leaves out, in the scenario's edge units (GHz, MHz,
dBm, dBi, dB). Fields the scenario gives explicitly always win. Three preset quantities are kept in
their physical form and converted with the *resolved* values of the other fields:

- the satellite **EIRP density** (dBW/MHz, TR 38.821 Table 6.1.1.1-1) and **peak antenna gain** G_max:
  ``tx_power_dbm = EIRP density + 10 log10(B / 1 MHz) + 30 − G_max`` (the transmit power that gives
  the TR's EIRP at the peak of the beam; it scales with the bandwidth B, so the density stays);
- G_max is split between the array and its elements: the N = n_h n_v elements add 10 log10 N
  through the steering vector (|a|² = N, 000 eqs 2–4), so ``sat_gain_dbi = G_max − 10 log10 N``;
- the UE **noise figure** F and antenna temperature T_ant (TR 38.821 Table 6.1.1.1-3):
  ``noise_dbm = 10 log10(k_B (T_ant + (F − 1) 290 K) B) + 30``, i.e. kTB + NF for T_ant = 290 K
  (handheld: −92.2 dBm in 30 MHz). An explicit ``noise_dbm`` replaces the noise figure.

The TR 38.821 presets reproduce the link-budget anchors of Table 6.1.3.3-1 at 30° elevation from
600 km (slant range 1075 km): SC9 S-band handheld CNR 6.6 dB and SC6 Ka-band VSAT CNR 8.5 dB, with
the simulator's own loss models (P.676 gaseous absorption along the slant path, TR 38.811
scintillation) plus the TR's fixed shadowing margin in ``other_losses_db``. The TR presets set
the link budget only; the channel-model fields (K-factor, LOS model, environment) keep their own
defaults. The paper presets carry the papers' whole radio set-up.

>>> sorted(LINK_BUDGETS)
['paper000', 'paper004', 'tr38821-ka-vsat', 'tr38821-s-band-handheld']
>>> fields = resolve_link_budget({"link_budget": "tr38821-s-band-handheld"})
>>> round(fields["tx_power_dbm"], 2), round(fields["sat_gain_dbi"], 2), round(fields["noise_dbm"], 2)
(48.77, 11.94, -92.2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..constants import BOLTZMANN
from .linkbudget import REFERENCE_TEMPERATURE_K

__all__ = ["LinkBudget", "LINK_BUDGETS", "DEFAULT_LINK_BUDGET", "resolve_link_budget", "noise_dbm_from_figure"]


@dataclass(frozen=True)
class LinkBudget:
    """One named link budget: physical quantities plus plain ``[radio]`` field values.

    Attributes
    ----------
    name : str
    source : str — where the numbers come from (one line)
    fields : mapping — ``[radio]`` fields in edge units set as given (frequency_ghz, bandwidth_mhz, …)
    eirp_density_dbw_mhz : float, dBW/MHz, optional — satellite EIRP density at the beam peak
    peak_gain_dbi : float, dBi, optional — satellite antenna peak gain G_max (array + element)
    noise_figure_db : float, dB, optional — UE receiver noise figure
    antenna_temperature_k : float, K — UE antenna noise temperature (with the noise figure)
    """

    name: str
    source: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    eirp_density_dbw_mhz: float | None = None
    peak_gain_dbi: float | None = None
    noise_figure_db: float | None = None
    antenna_temperature_k: float = REFERENCE_TEMPERATURE_K


#: The satellite array of every preset: 8 × 8 elements at half a wavelength (000 Sec. VI; 004 does not
#: state it). The TR 38.821 presets split their peak gain over it (module docstring).
_ARRAY = {"n_h": 8, "n_v": 8, "spacing_wavelengths": 0.5}

#: 000 Section VI (CF-mNTN): equal to the ``[radio]`` defaults. σ² = −140 dBm is 000's value, 39 dB
#: below kTB of 20 MHz: right for reproducing 000's figures, not a physical receiver.
_PAPER000 = LinkBudget(
    name="paper000",
    source="000 Sec. VI: 5 GHz, 20 MHz, 40 dBm, 3 dBi element, 8x8 UPA, noise -140 dBm",
    fields={
        "frequency_ghz": 5.0, "bandwidth_mhz": 20.0, "tx_power_dbm": 40.0, "ue_tx_power_dbm": 30.0,
        "noise_dbm": -140.0, **_ARRAY, "sat_gain_dbi": 3.0, "ue_gain_dbi": 0.0,
    },
)

#: 004 Section IV (UC-DMIMO) as :func:`~simulator.radio.params.paper004_params` builds it, without the
#: aperture pattern (the 004 experiments' default, ``aperture_pattern = false``).
_PAPER004 = LinkBudget(
    name="paper004",
    source="004 Sec. IV: 2 GHz, 30 MHz, 15 dBW, 30 dBi, noise -174 dBm/Hz, shadowing 4 dB, S-band scintillation",
    fields={
        "frequency_ghz": 2.0, "bandwidth_mhz": 30.0, "tx_power_dbm": 45.0, "ue_tx_power_dbm": 30.0,
        "noise_dbm": -174.0 + 10.0 * math.log10(30.0e6), **_ARRAY, "sat_gain_dbi": 30.0, "ue_gain_dbi": 0.0,
        "kappa_db": 10.0, "shadowing": True, "shadowing_sigma_db": 4.0, "scintillation": True,
    },
)

#: TR 38.821 Set-1 LEO-600 S-band, handheld UE (Tables 6.1.1.1-1/-3; SC9 DL of Table 6.1.3.3-1):
#: 34 dBW/MHz, 30 dBi, 30 MHz at 2 GHz; UE 0 dBi, NF 7 dB, 290 K, 23 dBm; 3 dB shadowing margin,
#: 2.2 dB ionospheric scintillation.
_S_HANDHELD = LinkBudget(
    name="tr38821-s-band-handheld",
    source="TR 38.821 Set-1 LEO-600 S-band, handheld UE (SC9 DL, CNR 6.6 dB at 30 deg)",
    fields={
        "frequency_ghz": 2.0, "bandwidth_mhz": 30.0, "ue_tx_power_dbm": 23.0, **_ARRAY,
        "ue_gain_dbi": 0.0, "scintillation": True, "other_losses_db": 3.0,
    },
    eirp_density_dbw_mhz=34.0,
    peak_gain_dbi=30.0,
    noise_figure_db=7.0,
    antenna_temperature_k=290.0,
)

#: TR 38.821 Set-1 LEO-600 Ka-band, VSAT UE (SC6 DL): 4 dBW/MHz, 38.5 dBi, 400 MHz at 20 GHz; VSAT
#: 39.7 dBi, NF 1.2 dB, 150 K (G/T 15.9 dB/K), 33 dBm; tropospheric scintillation, no shadowing margin.
_KA_VSAT = LinkBudget(
    name="tr38821-ka-vsat",
    source="TR 38.821 Set-1 LEO-600 Ka-band, VSAT UE (SC6 DL, CNR 8.5 dB at 30 deg)",
    fields={
        "frequency_ghz": 20.0, "bandwidth_mhz": 400.0, "ue_tx_power_dbm": 33.0, **_ARRAY,
        "ue_gain_dbi": 39.7, "scintillation": True, "other_losses_db": 0.0,
    },
    eirp_density_dbw_mhz=4.0,
    peak_gain_dbi=38.5,
    noise_figure_db=1.2,
    antenna_temperature_k=150.0,
)

#: Every named link budget, by ``[radio] link_budget`` name.
LINK_BUDGETS: dict[str, LinkBudget] = {b.name: b for b in (_PAPER000, _PAPER004, _S_HANDHELD, _KA_VSAT)}
#: Largest difference (dB) between a given ``noise_dbm`` and the one its noise figure gives.
NOISE_AGREEMENT_DB = 1e-6
#: The link budget of a scenario that names none (its field values are the ``[radio]`` defaults).
DEFAULT_LINK_BUDGET = "paper000"


def noise_dbm_from_figure(bandwidth_mhz: float, noise_figure_db: float,
                          antenna_temperature_k: float = REFERENCE_TEMPERATURE_K) -> float:
    """Receiver noise power 10 log10(k_B T_sys B) + 30 (dBm), T_sys = T_ant + (F − 1) · 290 K.

    >>> round(noise_dbm_from_figure(30.0, 7.0), 2)   # TR 38.821 handheld: kTB + 7 dB
    -92.2
    """
    t_sys = antenna_temperature_k + (10.0 ** (noise_figure_db / 10.0) - 1.0) * REFERENCE_TEMPERATURE_K
    return 10.0 * math.log10(BOLTZMANN * t_sys * bandwidth_mhz * 1e6) + 30.0


def resolve_link_budget(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[radio]`` table with its ``link_budget`` preset applied (edge units; explicit fields win).

    Parameters
    ----------
    raw : mapping — the ``[radio]`` table as read from TOML (``link_budget`` optional, default
        :data:`DEFAULT_LINK_BUDGET`)

    Returns
    -------
    dict — ``raw`` plus every field the preset sets and ``raw`` does not; ``link_budget`` named;
    ``noise_dbm`` computed from the noise figure when the preset or ``raw`` gives one and ``raw``
    gives no ``noise_dbm`` (then ``noise_figure_db`` and ``antenna_temperature_k`` stay recorded);
    ``tx_power_dbm`` from the EIRP density and ``sat_gain_dbi`` from the peak gain unless given.

    Raises
    ------
    ValueError — an unknown preset name, or ``noise_dbm`` that disagrees with ``noise_figure_db``
        (a resolved, dumped table holds both, in agreement)
    """
    data = dict(raw)
    name = data.setdefault("link_budget", DEFAULT_LINK_BUDGET)
    if name not in LINK_BUDGETS:
        raise ValueError(f"unknown link budget {name!r}; allowed: {', '.join(LINK_BUDGETS)}")
    budget = LINK_BUDGETS[name]
    for key in ("noise_figure_db", "antenna_temperature_k"):
        if data.get(key) is None:
            data.pop(key, None)  # None (as dumped) means not given
    given_noise = data.get("noise_dbm")
    for key, value in budget.fields.items():
        if not (key == "noise_dbm" and "noise_figure_db" in data):  # an explicit noise figure wins
            data.setdefault(key, value)
    if given_noise is None or "noise_figure_db" in data:
        figure = data.setdefault("noise_figure_db", budget.noise_figure_db)
        if figure is None:
            del data["noise_figure_db"]
        else:
            temperature = data.setdefault("antenna_temperature_k", budget.antenna_temperature_k)
            if _numbers(data["bandwidth_mhz"], temperature) and isinstance(figure, (int, float)):
                data["noise_dbm"] = noise_dbm_from_figure(data["bandwidth_mhz"], figure, temperature)
                if given_noise is not None and abs(given_noise - data["noise_dbm"]) > NOISE_AGREEMENT_DB:
                    raise ValueError(
                        f"noise_dbm = {given_noise} disagrees with noise_figure_db = {figure} dB "
                        f"({data['noise_dbm']:.2f} dBm); give one of them"
                    )
    if budget.peak_gain_dbi is not None:
        n_elements = data["n_h"] * data["n_v"] if _numbers(data["n_h"], data["n_v"]) else None
        if "sat_gain_dbi" not in data and n_elements:
            data["sat_gain_dbi"] = budget.peak_gain_dbi - 10.0 * math.log10(n_elements)
        if "tx_power_dbm" not in data and _numbers(data["bandwidth_mhz"]):
            data["tx_power_dbm"] = (budget.eirp_density_dbw_mhz + 10.0 * math.log10(data["bandwidth_mhz"]) + 30.0
                                    - budget.peak_gain_dbi)
    return data


def _numbers(*values: Any) -> bool:
    """All values are positive real numbers (not bool): otherwise field validation reports them."""
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values)
