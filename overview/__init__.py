"""The top app layer: what looks across every app (alerts and notifications, the Home dashboard, /metrics)."""
