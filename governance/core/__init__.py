"""The shared kernel: what every app may use. It imports no app (import-linter keeps it so)."""
