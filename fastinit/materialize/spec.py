"""What the user wrote: a spec file (JSON or YAML), initializer expressions, overrides, sizes.

Reads a Hugging Face ``config.json`` or a fastinit tensor spec into a mapping (duplicate keys
refused), parses ``name(key=literal, ...)`` initializer expressions, ``PATTERN=INIT``
overrides and sizes such as ``"5GB"``, and checks dtypes and shapes. `SpecError` is the error
of every check; `Param` is one tensor of the plan. Nothing here knows which tensors a model
family has (`fastinit.materialize.families`) or fills anything.
"""

import ast
import fnmatch
import json
import os
import re
from dataclasses import dataclass, field

import numpy as np

#: The ``format`` value of a fastinit tensor spec (optional in the file).
SPEC_FORMAT = "fastinit.tensors/1"
#: Output dtypes.
DTYPES = ("float32", "bfloat16", "float16", "float64")


class SpecError(ValueError):
    """The spec (a config.json or a fastinit tensor spec) cannot be materialised."""


@dataclass
class Param:
    """One tensor of a checkpoint: its name, shape and the initializer that fills it.

    Attributes
    ----------
    name : str
    shape : tuple of int
    init : str
        A fastinit function name (``normal``, ``zeros``, ``xavier_uniform``, ...).
    params : dict
        Keyword arguments of the initializer other than the shape/out/rng ones.
    dtype : str or None
        Output dtype name, None for the run's default.
    zero_rows : tuple of int
        Rows (leading-axis indices) set to zero after the fill: the padding row of an
        embedding, as ``nn.Embedding(padding_idx=...)`` initialises it. Dropped by an override.
    """
    name: str
    shape: tuple
    init: str
    params: dict = field(default_factory=dict)
    dtype: str = None
    zero_rows: tuple = ()


# --- parsing ---------------------------------------------------------------------------------

_SIZE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
               "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(size):
    """Bytes of a size such as ``"5GB"``, ``"500MB"``, ``"1.5GiB"`` or ``1000000``.

    Decimal units (KB, MB, GB, TB) are powers of 1000 as in Hugging Face's
    ``max_shard_size``; KiB, MiB, GiB, TiB are powers of 1024.

    Raises
    ------
    ValueError
        Not a positive size.
    """
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        n = int(size)
    elif isinstance(size, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", size)
        if not m or m.group(2).upper() not in _SIZE_UNITS:
            raise ValueError(f"cannot parse size {size!r}: use a number of bytes or a number "
                             f"with a unit (KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. '5GB'")
        n = int(float(m.group(1)) * _SIZE_UNITS[m.group(2).upper()])
    else:
        raise TypeError(f"size must be an int or a str such as '5GB', got {size!r}")
    if n <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    return n


def parse_init(text):
    """Split an initializer expression into its name and keyword arguments.

    Parameters
    ----------
    text : str
        ``"normal"``, ``"normal(std=0.01)"``, ``"truncated_normal(std=0.02, lower=-3,
        upper=3)"``, ``"constant(value=0.5)"``, ``"xavier_uniform(gain=2**0.5)"`` is *not*
        accepted (values are Python literals only).

    Returns
    -------
    name : str
    params : dict

    Raises
    ------
    SpecError
        Not of the form ``name`` or ``name(key=literal, ...)``.
    """
    if not isinstance(text, str):
        raise SpecError(f"an initializer must be a string such as 'normal(std=0.02)', got "
                        f"{text!r}")
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        node = None
    if isinstance(node, ast.Name):
        return node.id, {}
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args
            and all(k.arg is not None for k in node.keywords)):
        params = {}
        for k in node.keywords:
            try:
                params[k.arg] = ast.literal_eval(k.value)
            except ValueError:
                raise SpecError(f"initializer {text!r}: the value of {k.arg!r} must be a "
                                f"literal (number, string, list, ...)") from None
        return node.func.id, params
    raise SpecError(f"cannot parse initializer {text!r}: write NAME or NAME(key=value, ...), "
                    f"e.g. 'normal(std=0.02)' (keyword arguments only)")


def parse_overrides(overrides):
    """[(pattern_text, matcher, name, params)] from the accepted forms."""
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        items = list(overrides.items())
    elif isinstance(overrides, (str, bytes)):
        raise TypeError("overrides must be a dict, or a list of 'PATTERN=INIT' strings or "
                        "(pattern, init) pairs, not a single string")
    else:
        items = []
        for o in overrides:
            if isinstance(o, str):
                pattern, sep, init = o.partition("=")
                if not sep or not pattern.strip():
                    raise SpecError(f"override {o!r} is not of the form PATTERN=INIT, e.g. "
                                    f"'*.mlp.down_proj.weight=normal(std=0.002)'")
                items.append((pattern.strip(), init))
            else:
                try:
                    pattern, init = o
                except (TypeError, ValueError):
                    raise TypeError(f"override {o!r} must be a 'PATTERN=INIT' string or a "
                                    f"(pattern, init) pair") from None
                items.append((pattern, init))
    out = []
    for pattern, init in items:
        if not isinstance(pattern, str) or not pattern:
            raise SpecError(f"override pattern must be a non-empty string, got {pattern!r}")
        if pattern.startswith("re:"):
            try:
                rx = re.compile(pattern[3:])
            except re.error as e:
                raise SpecError(f"override pattern {pattern!r}: bad regular expression: "
                                f"{e}") from None
            matcher = rx.fullmatch
        else:
            matcher = (lambda p: lambda name: fnmatch.fnmatchcase(name, p))(pattern)
        if isinstance(init, str):
            name, params = parse_init(init)
        elif (isinstance(init, (tuple, list)) and len(init) == 2 and isinstance(init[0], str)
              and isinstance(init[1], dict)):
            name, params = init[0], dict(init[1])
        else:
            raise SpecError(f"override {pattern!r}: init must be a string such as "
                            f"'normal(std=0.02)' or a (name, params) pair, got {init!r}")
        out.append((pattern, matcher, name, params))
    return out


# --- specs -----------------------------------------------------------------------------------

def read_spec(spec):
    """(document, source path or None) of a spec path, folder or dict."""
    if isinstance(spec, dict):
        return spec, None
    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f"spec must be a path or a dict, got {type(spec).__name__}")
    path = os.fspath(spec)
    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise SpecError(f"cannot read spec {path!r}: {e.strerror}") from None
    ext = os.path.splitext(path)[1].lower()
    if ext in (".yaml", ".yml"):
        doc = _load_yaml(raw, path)
    else:
        try:
            doc = json.loads(raw, object_pairs_hook=lambda pairs: _unique(pairs, path))
        except SpecError:
            raise
        except (ValueError, UnicodeDecodeError) as e:
            if ext == ".json":
                raise SpecError(f"spec {path!r} is not valid JSON: {e}") from None
            doc = _load_yaml(raw, path)
    if not isinstance(doc, dict):
        raise SpecError(f"spec {path!r} must hold a mapping at the top level, got "
                        f"{type(doc).__name__}")
    return doc, path


def _unique(pairs, path):
    """A mapping from (key, value) pairs; a key given twice is an error (JSON and YAML
    parsers would keep the last one silently)."""
    out = {}
    for k, v in pairs:
        if k in out:
            raise SpecError(f"spec {path!r}: key {k!r} appears twice in the same mapping")
        out[k] = v
    return out


def _load_yaml(raw, path):
    try:
        import yaml
    except ImportError:
        raise SpecError(f"spec {path!r} is YAML: install pyyaml (pip install pyyaml)") from None

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader, node):
        # the keys written in this mapping must differ; keys merged in with `<<: *anchor`
        # may be overridden by them, as YAML defines
        keys = [loader.construct_object(k, deep=True) for k, _ in node.value
                if k.tag != "tag:yaml.org,2002:merge"]
        try:
            _unique([(k, None) for k in keys], path)
        except TypeError:                       # an unhashable key: SafeLoader's error
            pass
        return loader.construct_mapping(node, deep=True)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        return yaml.load(raw, Loader=Loader)
    except yaml.YAMLError as e:
        raise SpecError(f"spec {path!r} is not valid YAML: {e}") from None


def check_dtype(dtype, what):
    if isinstance(dtype, str):
        d = dtype.lower()
        if d.startswith("torch."):
            d = d[6:]
        d = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32",
             "float": "float32", "fp64": "float64", "double": "float64"}.get(d, d)
        if d in DTYPES:
            return d
    raise SpecError(f"{what} must be one of {', '.join(DTYPES)}, got {dtype!r}")


def _check_shape(shape, name):
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = [shape]
    if isinstance(shape, (list, tuple)) and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0
            for s in shape):
        return tuple(int(s) for s in shape)
    raise SpecError(f"tensor {name!r}: shape must be a list of non-negative integers, got "
                    f"{shape!r}")


def own_spec(doc):
    """Params, default dtype, seed and metadata of a fastinit tensor spec."""
    allowed = {"format", "dtype", "seed", "metadata", "tensors"}
    extra = set(doc) - allowed
    if extra:
        raise SpecError(f"unknown top-level key(s) {sorted(extra)} in the tensor spec "
                        f"(allowed: {sorted(allowed)})")
    fmt = doc.get("format", SPEC_FORMAT)
    if fmt != SPEC_FORMAT:
        raise SpecError(f"unsupported spec format {fmt!r} (this fastinit reads "
                        f"{SPEC_FORMAT!r})")
    dtype = None if doc.get("dtype") is None else check_dtype(doc["dtype"], "spec dtype")
    seed = doc.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise SpecError(f"spec seed must be a non-negative integer, got {seed!r}")
    meta = doc.get("metadata") or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in meta.items()):
        raise SpecError("spec metadata must map strings to strings")
    if meta.get("format", "pt") != "pt":
        # readers check __metadata__["format"] (safetensors' torch loader refuses anything
        # but "pt"): it describes the file, the spec cannot change it
        raise SpecError(f"spec metadata 'format' is the file's own field (always 'pt'), "
                        f"got {meta['format']!r}: use another key")
    tensors = doc.get("tensors")
    if not isinstance(tensors, dict) or not tensors:
        raise SpecError("spec 'tensors' must be a non-empty mapping of name -> {shape, init, "
                        "...}")
    params = []
    for name, t in tensors.items():
        if not isinstance(name, str) or not name:
            raise SpecError(f"tensor names must be non-empty strings, got {name!r}")
        if not isinstance(t, dict):
            raise SpecError(f"tensor {name!r} must be a mapping with shape and init, got "
                            f"{t!r}")
        extra = set(t) - {"shape", "dtype", "init", "params"}
        if extra:
            raise SpecError(f"tensor {name!r}: unknown key(s) {sorted(extra)} (allowed: "
                            f"shape, dtype, init, params)")
        for key in ("shape", "init"):
            if key not in t:
                raise SpecError(f"tensor {name!r} needs {key!r}")
        shape = _check_shape(t["shape"], name)
        init, p = parse_init(t["init"])
        extra_params = t.get("params") or {}
        if not isinstance(extra_params, dict):
            raise SpecError(f"tensor {name!r}: params must be a mapping, got {extra_params!r}")
        both = set(p) & set(extra_params)
        if both:
            raise SpecError(f"tensor {name!r}: {sorted(both)} given both in init and params")
        p.update(extra_params)
        tdtype = None if t.get("dtype") is None else check_dtype(t["dtype"],
                                                                 f"tensor {name!r} dtype")
        params.append(Param(name, shape, init, p, tdtype))
    return params, dtype, seed, meta


def config_dtype(cfg):
    """(key, value) of the config's dtype (``dtype`` wins over ``torch_dtype``, as in
    transformers 5), or None when it has none or says ``auto``."""
    for key in ("dtype", "torch_dtype"):
        v = cfg.get(key)
        if v is not None and v != "auto":
            return key, v
    return None
