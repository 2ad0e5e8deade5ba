"""Config validation with messages that name the key and the allowed values."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

EMBEDDED = ("BasicMotions", "JapaneseVowels")  # the UEA datasets aeon ships


class ConfigError(ValueError):
    """A setting of the config is not allowed; the message names it."""


def _key(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    key = _key(error.absolute_path)
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"config key {key}: {error.instance!r} is not allowed; allowed values: {allowed}"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        unknown = [name for name in error.instance if name not in known]
        where = "" if key == "(top level)" else f"{key}."
        names = ", ".join(f"{where}{name}" for name in unknown)
        return f"config key {names}: unknown key; known keys{' of ' + key if where else ''}: {', '.join(known)}"
    if error.validator in ("oneOf", "anyOf"):
        allowed = "; ".join(_alternative(option) for option in error.validator_value)
        return f"config key {key}: {error.instance!r} is not allowed; allowed values: {allowed}"
    return f"config key {key}: {error.message}"


def _alternative(schema: dict) -> str:
    """One branch of a oneOf/anyOf in words: its enum values, or its type and bounds."""
    if "enum" in schema:
        return ", ".join(map(str, schema["enum"]))
    words = f"{'an' if schema.get('type') == 'integer' else 'a'} {schema.get('type', 'value')}"
    if "minimum" in schema:
        words += f" >= {schema['minimum']}"
    if "maximum" in schema:
        words += f" <= {schema['maximum']}"
    return words


def check(config: dict, schema_path: str | Path) -> None:
    """Raise ConfigError listing every problem of `config` against the schema and the cross-key rules."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = _replaced_keys(config)
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        if not _only_replaced(error):  # already said, with what to write instead
            problems.append(_describe(error))
    if not problems:
        problems.extend(_cross_checks(config, schema["$defs"]["uea_dataset"]["enum"]))
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


# Settings that were replaced: (section, old key, message). Checked before the schema, whose
# "unknown key" would not say what to write instead.
REPLACED = [
    ("gan", "seed", "config key gan.seed: gan.seed was replaced by gan.seeds, a list (e.g. seeds: [0]); "
                    "one generator is trained per GAN seed"),
]


def _replaced_keys(config: dict) -> list[str]:
    """A message for every setting of `config` that a newer key replaced."""
    return [message for section, key, message in REPLACED
            if isinstance(config.get(section), dict) and key in config[section]]


def _only_replaced(error: jsonschema.ValidationError) -> bool:
    """True for an "unknown key" error whose every unknown key is a replaced setting."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return False
    known = error.schema.get("properties", {})
    section = _key(error.absolute_path)
    unknown = {name for name in error.instance if name not in known}
    return bool(unknown) and unknown <= {key for where, key, _ in REPLACED if where == section}


def _cross_checks(config: dict, uea: list[str]) -> list[str]:
    problems = []
    source = config.get("source", {})
    if source.get("kind") == "archive":
        for i, name in enumerate(config["datasets"]):
            if name not in uea:
                problems.append(
                    f"config key datasets[{i}]: {name!r} is not a UEA multivariate dataset (the archive offers "
                    f"{', '.join(uea)}); a dataset of your own in the archive's layout needs source.kind=mirror"
                )
    if source.get("kind", "embedded") == "embedded":
        for name in config["datasets"]:
            if name not in EMBEDDED:
                problems.append(
                    f"config key datasets: {name!r} is not shipped with aeon (source.kind=embedded "
                    f"offers {', '.join(EMBEDDED)}); set source.kind to archive or mirror"
                )
    if source.get("kind") == "mirror" and not source.get("mirror"):
        problems.append("config key source.mirror: source.kind=mirror needs a folder or base URL here")
    target = config.get("prepare", {}).get("target_length", "max")
    length = config.get("prepare", {}).get("length", "resample")
    if isinstance(target, int) and length == "pad":
        problems.append("config key prepare.target_length: an integer length needs length=resample or truncate, not pad")
    return problems
