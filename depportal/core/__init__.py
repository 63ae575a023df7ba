"""The bottom layer: helpers every app shares. It imports no app of ours (see .importlinter)."""
