"""Inkroom's server: HTTP API, WebSocket rooms, fan-out, persistence, and the CLI."""
