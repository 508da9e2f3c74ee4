"""Game rulesets: the logic of each kind of game, as pure functions."""

from games.rules.base import InvalidMove, InvalidOptions, Resolution, Ruleset
from games.rules.registry import RULESETS, get_ruleset

__all__ = [
    "RULESETS",
    "InvalidMove",
    "InvalidOptions",
    "Resolution",
    "Ruleset",
    "get_ruleset",
]
