"""fideslang data categories (https://ethyca.github.io/fideslang/): which keys name personal data, and
which of those are special categories. The one table the registry, the consent app and the column
lineage read; it sits below services and selectors so that both may import it.

- *Personal*: a key under ``user.`` (fideslang's data about the data subject: ``user.contact.email``,
  ``user.device.ip_address``...). ``system.`` and ``account.`` keys are not about a person.
- *Sensitive*: a personal key naming a GDPR Art. 9(1) special category, or Art. 10 criminal data,
  in any segment below ``user.`` (``user.health_and_medical``, ``user.biometric``,
  ``user.authorization.biometric``, ``user.health_and_medical.genetic``,
  ``user.demographic.race_ethnicity``, ``user.demographic.political_opinion``,
  ``user.demographic.religious_belief``, ``user.demographic.sexual_orientation``,
  ``user.criminal_history``, and the fideslang 1.x flat keys such as ``user.genetic``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

FIDESLANG_KEY: Final = re.compile(r"^[a-z_]+(\.[a-z_]+)*$")
# GDPR Art. 9(1) special categories, as fideslang names them (both the flat keys and those under
# ``user.demographic``): racial or ethnic origin, political opinions, religious or philosophical
# beliefs, trade union membership, genetic data, biometric data, health, sex life or sexual
# orientation; and Art. 10 data on criminal convictions, which is as restricted.
SPECIAL_SEGMENTS: Final = frozenset(
    {
        "health_and_medical",
        "health",
        "biometric",
        "biometric_health",
        "genetic",
        "political_opinion",
        "religious_belief",
        "philosophical_belief",
        "sexual_orientation",
        "sex_life",
        "race_ethnicity",
        "criminal_history",
        "trade_union_membership",
        "union_membership",
    }
)


def special_category_keys(categories: Iterable[str]) -> list[str]:
    """The categories that are special categories of personal data (GDPR Art. 9(1), Art. 10)."""
    return [
        key
        for key in categories
        if key.startswith("user.") and any(segment in SPECIAL_SEGMENTS for segment in key.split(".")[1:])
    ]


def personal_keys(categories: Iterable[str]) -> list[str]:
    """The categories that name personal data: fideslang's ``user`` tree."""
    return [key for key in categories if key == "user" or key.startswith("user.")]
