"""The provider spec file, validated by a typed model (pydantic) before anything else reads it.

Read safely: only a regular file, at most ``MAX_SPEC_BYTES``, UTF-8, YAML with at most ``MAX_ALIASES``
aliases (no alias bombs). Every error is one line naming the file, the key, the value and what is accepted;
an unknown key names the nearest valid one.
"""

from __future__ import annotations

import difflib
import math
import os
import stat
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from ..checks import CAPABILITIES, FAULT_KINDS
from ..errors import ConfigError
from .kube_model import OWNER_REPORT_KINDS, Kubernetes, NotSupported

MAX_SPEC_BYTES = 64 * 1024
MAX_ALIASES = 16
MAX_SPEC_BUDGET_S = 120.0  #: the same ceiling as config.MAX_BUDGET_S (a failover budget in seconds)
Platform = Literal["kind", "lab", "existing"]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Mode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
Text = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
Budget = Annotated[float, Field(gt=0, le=MAX_SPEC_BUDGET_S, allow_inf_nan=False)]


class Settings(BaseModel):
    """Provider settings; each reaches generated configs, so each is typed and bounded."""

    model_config = ConfigDict(extra="forbid", strict=True)
    advert_int: Annotated[float, Field(ge=0.01, le=10, allow_inf_nan=False)] | None = None
    #: seconds after an agent's undo began within which the LB announces again (the agent restarted, rejoined, won)
    announce_grace: Annotated[float, Field(gt=0, le=300, allow_inf_nan=False)] | None = None
    backend_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    pool_size: Annotated[int, Field(ge=4, le=1024)] | None = None
    version: Annotated[str, StringConstraints(pattern=r"^v\d+\.\d+\.\d+$")] | None = None
    manifest: Annotated[str, StringConstraints(
        pattern=r"^https://[A-Za-z0-9.-]+/[A-Za-z0-9._~/-]*(\{version\}[A-Za-z0-9._~/-]*)?$")] | None = None
    namespace: Name | None = None
    requested_ip_annotation: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+/[A-Za-z0-9-]+$")] | None = None
    sharing_annotation: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+/[A-Za-z0-9-]+$")] | None = None
    pool_annotation: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+/[A-Za-z0-9-]+$")] | None = None
    kubernetes_version: Annotated[str, StringConstraints(pattern=r"^1\.\d+$")] | None = None
    backend_image: Annotated[str, StringConstraints(pattern=r"^[a-z0-9./_-]+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$")] \
        | None = None


class SpecModel(BaseModel):
    """What a spec file may say. Unknown keys are refused (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: Name
    project: Text | None = None
    organization: Text | None = None
    url: Annotated[str, StringConstraints(pattern=r"^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._~/#-]*)?$")] | None = None
    contact: Annotated[list[Text], Field(max_length=8)] = []
    provider: Name | None = None
    platforms: Annotated[list[Platform], Field(min_length=1, max_length=3)]
    default_platform: Platform | None = None
    modes: dict[Platform, Annotated[list[Mode], Field(min_length=1, max_length=8)]]
    optional_modes: dict[Platform, Annotated[list[Mode], Field(max_length=8)]] = {}
    capabilities: Annotated[list[str], Field(max_length=32)]
    settings: Settings = Settings()
    budgets: dict[str, Budget] = {}
    #: why each capability is declared and each budget is what it is (key: a capability or a fault kind)
    reasons: Annotated[dict[str, Text], Field(max_length=32)] = {}
    #: capabilities the LB lacks by design, each with its reason and upstream source (the report shows them)
    not_supported: Annotated[list[NotSupported], Field(max_length=32)] = []
    #: a Kubernetes L2 LB described as data (``kube_model.Kubernetes``), driven by ``providers/kube_l2.py``
    kubernetes: Kubernetes | None = None

    @field_validator("capabilities")
    @classmethod
    def known_capabilities(cls, value: list[str]) -> list[str]:
        _all_known(value, list(CAPABILITIES), "capability")
        return value

    @field_validator("budgets")
    @classmethod
    def known_fault_kinds(cls, value: dict[str, float]) -> dict[str, float]:
        _all_known(list(value), list(FAULT_KINDS), "fault kind")
        return value

    @field_validator("reasons")
    @classmethod
    def known_reason_keys(cls, value: dict[str, str]) -> dict[str, str]:
        _all_known(list(value), [*CAPABILITIES, *FAULT_KINDS], "capability or fault kind")
        return value

    @field_validator("not_supported")
    @classmethod
    def known_unsupported(cls, value: list[NotSupported]) -> list[NotSupported]:
        _all_known([n.capability for n in value], list(CAPABILITIES), "capability")
        return value


def _all_known(names: list[str], accepted: list[str], what: str) -> None:
    """Raise for the first of ``names`` not in ``accepted``, naming the nearest accepted one."""
    for name in names:
        if name not in accepted:
            near = difflib.get_close_matches(name, accepted, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise ValueError(f"unknown {what} {name!r}; {hint}accepted: {', '.join(accepted)}")


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses more than MAX_ALIASES aliases (an alias bomb expands exponentially)."""

    aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} YAML aliases")
        return super().compose_node(parent, index)


def read_spec(path: Path) -> SpecModel:
    """Read and validate the spec at ``path``; one-line :class:`ConfigError` on anything wrong."""
    where = f"provider spec {path}"
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read it ({exc.strerror})") from exc
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{where}: not a regular file; give a YAML file")
    if st.st_size > MAX_SPEC_BYTES:
        raise ConfigError(f"{where}: {st.st_size} bytes; a spec is at most {MAX_SPEC_BYTES} bytes")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_SPEC_BYTES + 1)
        text = data.decode("utf-8")
        raw = yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader with an alias limit
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read it ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({' '.join(str(exc).split())[:200]})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level, not {type(raw).__name__}")
    try:
        return SpecModel.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        unknown = [e for e in errors if e["type"] == "extra_forbidden"]
        missing = [".".join(str(p) for p in e["loc"]) for e in errors if e["type"] == "missing"]
        if unknown:  # a misspelt key is also a missing one: name the spelling, not only the absence
            also = f" (missing: {', '.join(missing)})" if missing else ""
            raise ConfigError(f"{where}: {_one_line(unknown[0], raw)}{also}") from exc
        if missing:
            raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}") from exc
        raise ConfigError(f"{where}: {_one_line(errors[0], raw)}") from exc


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class of the mapping at ``loc`` (names of model fields; list indexes skipped), None if not one."""
    model: type[BaseModel] = SpecModel
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        found = _model_in(field.annotation)
        if found is None:
            return None
        model = found
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel class inside ``annotation`` (``X | None``, ``list[X]``, ``Annotated[...]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _one_line(error: Any, raw: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in error["loc"])
    value = error.get("input")
    if error["type"] == "extra_forbidden":
        parent = _model_at(error["loc"][:-1])
        fields = list(parent.model_fields) if parent else []
        key = str(error["loc"][-1])
        near = difflib.get_close_matches(key, fields, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        if error["loc"][-2:-1] == ("owner_report",):
            return (f"unknown owner report kind {key!r} at {loc!r}; {hint}supported kinds: "
                    f"{', '.join(OWNER_REPORT_KINDS)} (another kind needs a reader in pytest_lbconform/providers/"
                    f"owner_readers/)")
        return f"unknown key {loc!r}; {hint}accepted: {', '.join(fields)}"
    shown = str(value) if isinstance(value, float) and not math.isfinite(value) else repr(value)
    shown = shown if len(shown) <= 80 else shown[:80] + "…"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{loc}={shown} is not accepted: {message}"
