"""The shipped policy files (gongji/policies/*.toml): a province file with the rules common
to its regions, and a small file per pooling region with its name and what differs.

File format: every value is a table `{ value = ..., source = "..." }`, with `example = true`
on a value that is a placeholder or an assumption to be set from the regional notice. A
map rule is written leaf by leaf (`[premium_yuan_by_year.2025]`,
`[fund_rules.hospital.deductible_yuan]`); a region file that sets a map rule replaces the
province's whole map, as a published version does. Sources and example flags are keyed
by the dotted path of the value, e.g. `fund_rules.hospital.deductible_yuan`.

These files are the seeds of the first policy version of every province and region
(store migration 0011); after that, the versions in the database are the rules in force
(services/policy). What stays here: which regions exist, their names, their province.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from gongji.domain.codes import ADMDVS
from gongji.domain.errors import DomainError, refuse
from gongji.domain.policy import RegionPolicy, apply_changes, build_policy, normalize_rules

_LEAF_KEYS = frozenset({"value", "source", "example"})
_IDENTITY = ("admdvs", "name")


@dataclass(frozen=True)
class Layer:
    """One file: a province's common rules, or a region's name and overrides."""

    admdvs: str
    name: str
    rules: dict  # canonical plain values (domain/policy.normalize_rules)
    sources: dict[str, str]
    examples: frozenset[str]

    @property
    def is_province(self) -> bool:
        return self.admdvs.endswith("0000")


def province_of(admdvs: str) -> str:
    """统筹区 → its province (省级区划): 451000 → 450000."""
    return admdvs[:2] + "0000"


class _Reader:
    """Unwraps `{ value, source, example }` leaves into plain values, keeping sources."""

    def __init__(self) -> None:
        self.sources: dict[str, str] = {}
        self.examples: set[str] = set()

    def plain(self, node: object, path: str) -> object:
        if not isinstance(node, dict):
            raise ValueError(f'{path}: must be a table {{ value = ..., source = "..." }}')
        if "value" not in node:
            return {key: self.plain(child, f"{path}.{key}") for key, child in node.items()}
        unknown = set(node) - _LEAF_KEYS
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
        source = node.get("source")
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"{path}: needs a non-empty source")
        example = node.get("example", False)
        if not isinstance(example, bool):
            raise ValueError(f"{path}: example must be true or false")
        self.sources[path] = source.strip()
        if example:
            self.examples.add(path)
        return node["value"]


def parse_layer(data: dict, *, named: bool = True) -> Layer:
    """One parsed TOML document → a Layer; ValueError names the bad value. A file to
    publish (`named=False`) needs no name: only admdvs and the rules it changes."""
    if not isinstance(data, dict):
        raise ValueError("policy must be a table")
    missing = [key for key in _IDENTITY[:2 if named else 1] if key not in data]
    if missing:
        raise ValueError(f"missing keys {missing}")
    reader = _Reader()
    plain = {key: reader.plain(node, key) for key, node in data.items()}
    admdvs, name = plain.pop("admdvs"), plain.pop("name", "-")
    if not isinstance(admdvs, str) or not ADMDVS.fullmatch(admdvs):
        raise ValueError("admdvs: must be 6 digits")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name: must be a non-empty string")
    try:
        rules = normalize_rules(plain) if plain else {}
    except DomainError as exc:  # the rule and why, without the code's own prefix: the
        # caller refuses with INVALID_POLICY again, which adds it once
        raise ValueError(exc.message.split("：", 1)[-1]) from None
    return Layer(admdvs, name, rules, dict(reader.sources), frozenset(reader.examples))


def _bundled_dir() -> Traversable:
    return resources.files("gongji").joinpath("policies")


def load_layers(directory: Path | None = None) -> dict[str, Layer]:
    """Every *.toml in `directory` (default: the bundled gongji/policies), checked: each
    region has its province's file, and the two together make a complete, valid policy."""
    folder: Traversable = directory if directory is not None else _bundled_dir()
    layers: dict[str, Layer] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml") or not entry.is_file():
            continue
        try:
            layer = parse_layer(tomllib.loads(entry.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise ValueError(f"policy file {entry.name}: {exc}") from exc
        # The file name is the key operators look for; a mismatch is a copy-paste slip.
        if entry.name.removesuffix(".toml") != layer.admdvs:
            raise ValueError(
                f"policy file {entry.name}: admdvs {layer.admdvs} does not match the file name")
        layers[layer.admdvs] = layer
    for layer in layers.values():
        if not layer.is_province:
            try:
                merged_policy(layers, layer.admdvs)
            except (KeyError, DomainError) as exc:
                raise ValueError(f"policy file {layer.admdvs}.toml: {exc}") from exc
    return layers


def merged_policy(layers: dict[str, Layer], admdvs: str) -> RegionPolicy:
    """A region's shipped policy: its province's rules, overridden by its own."""
    region, province = layers[admdvs], layers[province_of(admdvs)]
    overridden = tuple(region.rules)
    keep = {path: src for path, src in province.sources.items()
            if path.split(".")[0] not in overridden}
    examples = {p for p in province.examples if p.split(".")[0] not in overridden}
    return build_policy(admdvs, region.name, apply_changes(province.rules, region.rules),
                        sources=keep | region.sources,
                        examples=frozenset(examples | region.examples))


@functools.cache
def shipped_layers() -> dict[str, Layer]:
    return load_layers()


@functools.cache
def known_regions() -> tuple[str, ...]:
    """Every pooling region with a shipped file (provinces are not regions)."""
    return tuple(sorted(a for a, layer in shipped_layers().items() if not layer.is_province))


@functools.cache
def _region_set() -> frozenset[str]:
    return frozenset(known_regions())


def known_scopes() -> tuple[str, ...]:
    """What a policy version may be published for: a region, or a province (all its regions)."""
    return tuple(sorted(shipped_layers()))


def region_name(admdvs: str) -> str:
    return shipped_layers()[admdvs].name


def regions_of(scope: str) -> tuple[str, ...]:
    """The regions a version for `scope` reaches: the region itself, or a province's all."""
    if scope.endswith("0000"):
        return tuple(r for r in known_regions() if province_of(r) == scope)
    return (scope,)


def shipped_policy(admdvs: str) -> RegionPolicy:
    """A region's policy as shipped (the seed of its first version): for models and
    benchmarks; services use the version in force (services/policy/versions.policy_on)."""
    check_region(admdvs)
    return merged_policy(shipped_layers(), admdvs)


def check_region(admdvs: object) -> str:
    """A known pooling region, or INVALID_REGION."""
    return _known(admdvs, _region_set())


def check_scope(admdvs: object) -> str:
    """A known region or province, or INVALID_REGION."""
    return _known(admdvs, shipped_layers())


def _known(admdvs: object, known: Collection[str]) -> str:
    if not isinstance(admdvs, str) or not ADMDVS.fullmatch(admdvs):
        raise refuse("INVALID_REGION", "须为6位数字")
    if admdvs not in known:
        raise refuse("INVALID_REGION", admdvs)
    return admdvs
