"""The rulesets a game can be created with, by name.

To add a ruleset, write its module in this package and list an instance of
its class in RULESETS.
"""

from __future__ import annotations

from games.rules.base import Ruleset
from games.rules.lightcycles import LightcyclesRuleset
from games.rules.lockstep import LockstepRuleset
from games.rules.rps import RockPaperScissorsRuleset

RULESETS: dict[str, Ruleset] = {
    ruleset.name: ruleset
    for ruleset in (
        RockPaperScissorsRuleset(),
        LightcyclesRuleset(),
        LockstepRuleset(),
    )
}


def get_ruleset(name: str) -> Ruleset | None:
    """Return the ruleset registered as `name`, or None when there is none."""
    return RULESETS.get(name)
