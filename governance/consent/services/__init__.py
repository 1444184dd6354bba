"""Writing consent and data-subject rights: every service is one action with its audit entry.

- ``ledger``: notices, one consent event, the materialised state.
- ``imports``: a CSV of consent events, streamed, all or nothing.
- ``requests``: privacy requests, their status and their impact through lineage.
- ``erasure``: dataset versions rewritten without a subject; exemptions for model versions.
"""
