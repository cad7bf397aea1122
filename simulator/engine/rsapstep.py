"""The RSAP rule stepped for many lanes at once (:func:`~simulator.cooperation.rsap.rsap_step`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..constants import NS_PER_S
from ..cooperation.rsap import RsapState, prefer_lasting, rsap_step
from .instant import InstantView
from .lanes import Lane, remap_rsap_state

__all__ = ["step_rsaps"]


def step_rsaps(lanes: list[Lane], t: int, vis: np.ndarray, view: InstantView, *, hysteresis_db: float,
               time_to_trigger_s: float, horizon_s: float = 0.0,
               on_change: Callable[[Lane, int, np.ndarray, np.ndarray], None] | None = None,
               ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Advance the RSAP rule of ``lanes`` to ``t``; per lane, the users whose RSAP changed and, per
    user, the rule's reason (``acquire``, ``rsap_ineligible``, ``better_channel``, ``no_eligible``).

    The rule treats each user on its own, so the lanes of one policy are stepped in one call with
    their users side by side: columns j·U … (j+1)·U − 1 belong to the group's j-th lane. Eligible
    RSAPs are the links up at ``t`` (serving-mode lanes) or the lane's serving links up at ``t``;
    RSAP timers are kept over ``vis`` (the satellites up for some user). With ``horizon_s`` > 0
    (make-before-break) eligible links that set within it are not eligible where the user has a
    lasting one (:func:`~simulator.cooperation.rsap.prefer_lasting`). ``on_change(lane, t, new,
    why)`` is called before a lane whose RSAP changed takes its new RSAPs ``new`` (catalogue indices).
    """
    n_user = view.n_user
    out: list = [None] * len(lanes)
    if not lanes:
        return out
    up = view.up_links(t, vis)
    gain, service = view.gain_now(t, vis), view.service_time_s(t, vis)
    for policy in dict.fromkeys(lane.policy for lane in lanes):
        group = [i for i, lane in enumerate(lanes) if lane.policy == policy]
        for i in group:
            lane = lanes[i]
            if lane.rsap_state is None or lane.rsap_state.better_since_s.shape[0] != len(vis):
                lane.rsap_state = remap_rsap_state(lane.rsap_state, np.zeros(0, np.int64), vis, lane.rsap)
        eligible = np.concatenate([prefer_lasting(up if lanes[i].spec.rsap_mode == "serving"
                                                  else up & lanes[i].mask_on(vis), service, horizon_s)
                                   for i in group], axis=1)
        before = RsapState(np.concatenate([lanes[i].rsap_state.rsap for i in group]),
                           np.concatenate([lanes[i].rsap_state.better_since_s for i in group], axis=1))
        n = len(group)
        state, records = rsap_step(before, t / NS_PER_S, np.tile(gain, (1, n)), np.tile(service, (1, n)),
                                   eligible, policy, hysteresis_db, time_to_trigger_s)
        new_all = np.where(state.rsap >= 0, vis[np.maximum(state.rsap, 0)], -1) if len(vis) else \
            np.full(n * n_user, -1, np.int64)
        owner = records.user_id // n_user
        for j, i in enumerate(group):
            lane, cols = lanes[i], slice(j * n_user, (j + 1) * n_user)
            mine = owner == j
            why = np.full(n_user, "rsap", dtype=object)
            why[records.user_id[mine] - j * n_user] = records.reason[mine]
            new = new_all[cols]
            changed = np.flatnonzero(new != lane.rsap)
            if on_change is not None and changed.size:
                on_change(lane, t, new, why)
            lane.rsap = new
            lane.rsap_state = RsapState(state.rsap[cols], state.better_since_s[:, cols])
            out[i] = (changed, why)
    return out
