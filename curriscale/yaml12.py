"""YAML as people write it today: `load_yaml` reads numbers and booleans by YAML 1.2's rules.

PyYAML implements YAML 1.1, whose float pattern wants a dot and a signed exponent: `1.0e-3` is a
number but `1e-3`, `1e3` and `4.78e12` are text. Its booleans include `yes`, `no`, `on` and `off`,
so a tier or curriculum named `no` (Norwegian, say) becomes False; and `12:30` is the integer 750.
Grids, recipes and the `lr:` maps inside them are full of such values. This loader keeps PyYAML's
safe loader (no Python objects are ever built) and swaps in YAML 1.2's core-schema patterns for
numbers and booleans.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

FLOAT_TAG, BOOL_TAG, INT_TAG = (f"tag:yaml.org,2002:{kind}" for kind in ("float", "bool", "int"))

# YAML 1.2 core schema numbers, with `_` digit separators as PyYAML allows: ints are decimal (`010`
# is 10, where PyYAML reads octal 8) or hex, with no sexagesimal form (`12:30` stays text, not 750).
_INT = re.compile(r"^(?:[-+]?[0-9][0-9_]*|0x[0-9a-fA-F_]+)$")
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 number and boolean resolution."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in (FLOAT_TAG, BOOL_TAG, INT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(INT_TAG, _INT, list("-+0123456789"))
Yaml12Loader.add_implicit_resolver(FLOAT_TAG, _FLOAT, list("-+0123456789."))
Yaml12Loader.add_implicit_resolver(BOOL_TAG, _BOOL, list("tTfF"))


def _construct_int(loader: Yaml12Loader, node: yaml.ScalarNode) -> int:
    """Decimal or hex digits (with `_` separators) as an int; an explicit `!!int` tag on other text
    is a YAML error naming the line, like any other."""
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return int(text, 16) if text.lower().startswith(("0x", "-0x", "+0x")) else int(text)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"not an integer: {node.value!r}", node.start_mark
        ) from None


Yaml12Loader.add_constructor(INT_TAG, _construct_int)


def load_yaml(text: str) -> Any:
    """Parse one YAML document (YAML 1.2 numbers and booleans, no Python objects).

    Raises:
        yaml.YAMLError: when `text` is not valid YAML.
    """
    return yaml.load(text, Loader=Yaml12Loader)  # noqa: S506 - a SafeLoader subclass
