"""``campaign campaign edit|show``: a campaign's and the network's goal, milestones and stretch step."""

from __future__ import annotations

from campaign.appeals import goals
from campaign.appeals import registry as appeals
from campaign.runtime import Runtime
from campaign.settings import Settings
from tests.cli.test_cli_delivery import campaign


def test_campaign_edit_sets_goal_milestones_and_stretch(
    settings: Settings, runtime: Runtime, hassan: object
) -> None:
    marks = ("--milestone", "25000", "--milestone", "10000")
    done = campaign(settings, "campaign", "edit", "torture", "--goal", "50000", *marks)
    assert done.returncode == 0, done.stderr
    assert "goal: 50,000" in done.stdout and "milestones: 10,000, 25,000" in done.stdout
    network = campaign(settings, "campaign", "edit", "all", "--milestone", "100000", "--stretch-step", "5000")
    assert network.returncode == 0 and "stretch step: 5,000 when the goal is reached" in network.stdout
    assert goals.get(runtime.engine, "all").milestones == (100000,)
    shown = campaign(settings, "campaign", "show", "torture")
    assert "goal: 50,000" in shown.stdout and "stretch step: (none)" in shown.stdout
    stretched = campaign(settings, "appeal", "edit", "hassan", "--stretch-step", "2500")
    assert stretched.returncode == 0 and "stretch step: 2,500 when the goal is reached" in stretched.stdout
    assert appeals.get_appeal(runtime.engine, "hassan").stretch_step == 2500


def test_campaign_edit_refuses_bad_input_with_one_line(
    settings: Settings, runtime: Runtime, hassan: object
) -> None:
    for args, message in (
        (("torture", "--milestone=-1"), "milestone -1: must be a positive number"),
        (("torture", "--stretch-step=-5"), "stretch step -5: must be a positive number"),
        (("nowhere", "--goal", "10"), "no campaign 'nowhere'"),
    ):
        bad = campaign(settings, "campaign", "edit", *args)
        assert bad.returncode != 0 and message in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr
