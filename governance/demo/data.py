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


def customers_csv(rows: int = CUSTOMERS * 2, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    out.write("customer_id,tenure,plan,monthly_spend,support_calls,churned\n")
    for n in range(rows):
        tenure = int(rng.integers(1, 72))
        plan = ("basic", "plus", "pro")[int(rng.integers(0, 3))]
        spend = round(float(rng.normal(45, 15)), 2)
        calls = int(rng.poisson(2))
        risk = (tenure < 18) + (plan == "basic") + (calls > 3) + (spend > 65)
        churned = int(risk + rng.normal(0, 0.6) > 1.5)
        out.write(f"c-{n % CUSTOMERS:04d},{tenure},{plan},{spend},{calls},{churned}\n")
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
