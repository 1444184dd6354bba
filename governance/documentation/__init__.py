"""Technical documentation (EU AI Act Art. 11, Annex IV) and model cards, generated per model version."""
