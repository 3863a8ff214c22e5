"""Telemetry: logging, metrics and tracing set-up."""
