"""The demo's made-up customers: their rows, their consent, and prediction requests drawn like them."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

PURPOSE = "train_ai_system"
CUSTOMERS = 240
WITHDRAWN = range(0, 12)  # customers c-0000 ... c-0011 withdraw after granting
GPC_OPT_OUT = range(12, 15)  # three Californians send Sec-GPC: 1
ERASED = "c-0042"
SEXES = ("m", "f")  # c-0000 m, c-0001 f, ...
PROTECTED: list[dict[str, Any]] = [
    {"column": "sex", "data_categories": ["user.demographic.gender"], "proxy": False}
]
FEATURES = ["tenure", "plan", "monthly_spend", "support_calls"]  # sex is examined, never a model input
# The production policy's bias threshold (the admin adds it once the examination is seen): EU AI Act
# Art. 10(2)(f) asks for the examination; the threshold is this organisation's choice.
BIAS_THRESHOLD: dict[str, Any] = {"demographic_parity_difference": 0.1, "attributes": ["sex"]}


def customers_csv(rows: int = CUSTOMERS * 2, seed: int = 7, *, sex: bool = False) -> bytes:
    """Customers and churn labels; ``sex=True`` adds a sex column (a protected attribute the bias
    examination groups by), alternating by customer and so apart from churn; every other column is as
    without it."""
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    out.write(f"customer_id,tenure,plan,monthly_spend,support_calls,{'sex,' if sex else ''}churned\n")
    for n in range(rows):
        tenure = int(rng.integers(1, 72))
        plan = ("basic", "plus", "pro")[int(rng.integers(0, 3))]
        spend = round(float(rng.normal(45, 15)), 2)
        calls = int(rng.poisson(2))
        risk = (tenure < 18) + (plan == "basic") + (calls > 3) + (spend > 65)
        churned = int(risk + rng.normal(0, 0.6) > 1.5)
        group = f"{SEXES[n % CUSTOMERS % 2]}," if sex else ""
        out.write(f"c-{n % CUSTOMERS:04d},{tenure},{plan},{spend},{calls},{group}{churned}\n")
    return out.getvalue().encode()


def consent_csv() -> bytes:
    lines = ["subject_id,purpose,event,jurisdiction,occurred_at,lawful_basis,method"]
    for n in range(CUSTOMERS):
        where = "california" if n in GPC_OPT_OUT else "eu_eea"
        lines.append(f"c-{n:04d},{PURPOSE},grant,{where},2026-01-15T09:00:00Z,consent,import")
    return ("\n".join(lines) + "\n").encode()


def customer(n: int, *, shift: float) -> dict[str, Any]:
    """A prediction request drawn like ``customers_csv`` rows; ``shift`` moves the monthly spend."""
    rng = np.random.default_rng(1000 + n)
    return {
        "tenure": int(rng.integers(1, 72)),
        "plan": ("basic", "plus", "pro")[int(rng.integers(0, 3))],
        "monthly_spend": round(float(rng.normal(45, 15)) + shift, 2),
        "support_calls": int(rng.poisson(2)),
    }
