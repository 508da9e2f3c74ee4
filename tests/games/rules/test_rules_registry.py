import pytest

import games.rules
from games.rules.base import Ruleset
from games.rules.lightcycles import LightcyclesRuleset
from games.rules.lockstep import LockstepRuleset
from games.rules.registry import RULESETS, get_ruleset
from games.rules.rps import RockPaperScissorsRuleset


def test_registry_names():
    assert sorted(RULESETS) == ["lightcycles", "lockstep", "rps"]


@pytest.mark.parametrize(
    ("name", "cls", "min_seats", "max_seats"),
    [
        ("rps", RockPaperScissorsRuleset, 2, 2),
        ("lightcycles", LightcyclesRuleset, 2, 4),
        ("lockstep", LockstepRuleset, 2, 16),
    ],
)
def test_get_ruleset_by_name(name, cls, min_seats, max_seats):
    ruleset = get_ruleset(name)
    assert isinstance(ruleset, cls)
    assert ruleset.name == name
    assert ruleset.min_seats == min_seats
    assert ruleset.max_seats == max_seats


@pytest.mark.parametrize("name", ["", "RPS", "chess", " rps"])
def test_get_ruleset_unknown_is_none(name):
    assert get_ruleset(name) is None


@pytest.mark.parametrize("name", sorted(RULESETS))
def test_registered_rulesets_are_rulesets(name):
    assert isinstance(RULESETS[name], Ruleset)
    assert RULESETS[name].name == name


@pytest.mark.parametrize("name", sorted(RULESETS))
def test_missed_move_meaning_is_overridden(name):
    meaning = RULESETS[name].missed_move_meaning()
    assert meaning != Ruleset.missed_move_meaning(RULESETS[name])
    assert meaning.endswith(".")


def test_package_reexports():
    assert games.rules.get_ruleset is get_ruleset
    assert games.rules.RULESETS is RULESETS
    assert set(games.rules.__all__) == {
        "RULESETS",
        "InvalidMove",
        "InvalidOptions",
        "Resolution",
        "Ruleset",
        "get_ruleset",
    }
