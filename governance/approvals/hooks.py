"""Hooks the approvals app owns, which apps above it fill in when they start.

Approvals sits below the jobs app and never imports it, yet a training request must be refused when
filed if the job would refuse its parameters (before anyone is asked to sign). So jobs registers its
parameter check here in ``JobsConfig.ready`` and approvals calls whatever is registered. With none
registered, training requests are refused (fail closed): nothing can say the parameters are usable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from governance.core.errors import Conflict, ValidationFailed

# Raises ValueError (its message names the parameter and how to fix it) when the parameters are unusable.
ParametersCheck = Callable[[Mapping[str, Any]], object]

_training_parameters_checks: list[ParametersCheck] = []


def training_parameters_check_register(check: ParametersCheck) -> ParametersCheck:
    """Register what the training job accepts; registering the same check twice keeps one."""
    if check not in _training_parameters_checks:
        _training_parameters_checks.append(check)
    return check


def training_parameters_check(parameters: Mapping[str, Any]) -> None:
    """Refuse (400) parameters a registered check refuses; refuse (409) when no check is registered."""
    if not _training_parameters_checks:
        raise Conflict(
            "no training job is installed to check training parameters, so a training request cannot "
            "be filed; install governance.jobs",
            code="training_unavailable",
        )
    for check in _training_parameters_checks:
        try:
            check(parameters)
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from exc
