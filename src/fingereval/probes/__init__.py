"""The synthetic probe world: videos of coloured shapes with planted defects and known answers."""
from fingereval.probes.make import ProbeSet, make_probes, split_probes
from fingereval.probes.questions import FORMS, QuestionForm
from fingereval.probes.world import ProbeSpec, plan_probe

__all__ = ["FORMS", "ProbeSet", "ProbeSpec", "QuestionForm", "make_probes", "plan_probe", "split_probes"]
