"""What the tokens app tells the apps above it, which it may not import (DESIGN.md layers)."""

from django.dispatch import Signal

# Sent inside the activation's transaction with `token`: a token was added and is active (the wizard's last step).
token_activated = Signal()
