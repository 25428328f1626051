"""The bundled sample sessions, installed as the package data `calfsense.recordings` (see pyproject.toml)."""
