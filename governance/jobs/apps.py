from __future__ import annotations

from django.apps import AppConfig

from governance.approvals.hooks import training_parameters_check_register


class JobsConfig(AppConfig):
    name = "governance.jobs"
    label = "jobs"
    verbose_name = "Training and deploy jobs"

    def ready(self) -> None:
        # In ready(), not at the top: this module is imported while Django loads the app registry, and
        # ml imports registry.artifacts, which imports registry models (not loadable before then).
        from governance.jobs.ml import TrainingSpec

        # A training request is refused when filed if the job would refuse its parameters (approvals' hook).
        training_parameters_check_register(TrainingSpec.from_parameters)
