"""Settings loader used by the sample corpus of the apply_diff tests."""

import json
import os
from dataclasses import dataclass, field


@dataclass
class Settings:
    model: str = "default-model"
    max_requests: int = 50
    telemetry: bool = True
    allowed_commands: list = field(default_factory=list)


def load_settings(path):
    """Reads settings from a JSON file, falling back to defaults."""
    settings = Settings()
    if not os.path.exists(path):
        return settings
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if "model" in data:
        settings.model = str(data["model"])
    if "max_requests" in data:
        value = int(data["max_requests"])
        if value <= 0:
            raise ValueError("max_requests must be positive")
        settings.max_requests = value
    if "telemetry" in data:
        settings.telemetry = bool(data["telemetry"])
    for command in data.get("allowed_commands", []):
        if not isinstance(command, str):
            raise ValueError("allowed_commands holds strings only")
        settings.allowed_commands.append(command)
    return settings


def apply_environment(settings, environment):
    """Environment variables win over the file."""
    if environment.get("SAMPLE_TELEMETRY") == "0":
        settings.telemetry = False
    if "SAMPLE_MODEL" in environment:
        settings.model = environment["SAMPLE_MODEL"]
    return settings


def describe(settings):
    lines = [
        f"model: {settings.model}",
        f"max requests: {settings.max_requests}",
        f"telemetry: {'on' if settings.telemetry else 'off'}",
    ]
    for command in sorted(settings.allowed_commands):
        lines.append(f"allowed: {command}")
    return "\n".join(lines)
