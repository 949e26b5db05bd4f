"""Random-initialised model checkpoints written straight to disk: ``fastinit materialize``.

A spec — a Hugging Face ``config.json`` of a LLaMA/Mistral/Qwen2/GPT-2 decoder, or fastinit's
own JSON/YAML tensor spec — becomes a ``.safetensors`` file, or a folder laid out as
``save_pretrained`` lays it out (shards ``model-0000k-of-0000N.safetensors`` and
``model.safetensors.index.json``, plus ``config.json``), without ever building the model in
memory:

* every tensor is filled in place in a memory map of the output file, by the parallel fastinit
  samplers, slab by slab (64 MiB at a time), so peak memory stays a few slabs whatever the
  model size;
* tensor ``name`` is filled from the stream ``fastinit.seed_for(seed, name)``, so it equals
  ``fastinit.<init>(shape, **params, dtype=dtype, rng=fastinit.seed_for(seed, name))``
  computed in memory, bit for bit — independent of the other tensors, the sharding, the
  thread count and the slab size;
* the whole spec (shapes, dtypes, initializers and their parameters, overrides) is checked
  before anything is created; output goes to temporary names in the target directory, is
  fsync'ed and renamed into place at the end, and is deleted on any error, Ctrl-C, SIGTERM
  or SIGHUP; a run killed outright leaves temporaries that the next run to the same output
  removes (`fastinit.materialize.atomic`);
* existing files are never replaced without ``force``, not even ones another process
  created while this run was writing: of concurrent runs to one output exactly one wins.

See the README section on ``fastinit materialize`` for the spec schema, the CLI and the benchmark.
"""

import argparse
import ast
import fnmatch
import inspect
import json
import math
import os
import re
import shutil
import signal
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

import fastinit

from .. import _dtypes
from .._engine import resolve_threads
from .._pipe import run_cli
from ..seeding import seed_for
from . import atomic as _atomic
from . import safetensors as st
from .families import ARCHITECTURES, FAMILIES, Param, SpecError, params_of_config

__all__ = ["materialize", "plan", "main", "parse_size", "parse_init", "Param", "Result",
           "SpecError", "SPEC_FORMAT"]

#: The ``format`` value of a fastinit tensor spec (optional in the file).
SPEC_FORMAT = "fastinit.tensors/1"
#: Output dtypes.
DTYPES = ("float32", "bfloat16", "float16", "float64")
#: Bytes of one slab: tensors larger than this are filled (and mapped) a slab at a time.
SLAB_BYTES = 64 << 20
DEFAULT_MAX_SHARD_SIZE = "5GB"

_SAMPLERS = ("normal", "uniform", "truncated_normal", "random")
_CONSTANTS = ("zeros", "ones", "constant")
# Initializers whose blocks are cheap to compute independently (fans from global_shape):
# filled slab by slab like the samplers. Any other initializer (orthogonal, sparse, ...)
# fills its tensor in one call.
_BLOCKWISE = frozenset(_SAMPLERS + _CONSTANTS + (
    "variance_scaling", "xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal",
    "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal", "lecun_uniform",
    "lecun_normal", "selu_normal", "eye", "dirac"))
_RESERVED = ("shape", "out", "dtype", "rng", "threads", "global_shape", "index")
_STALE = re.compile(r"model(-\d{5}-of-\d{5})?\.safetensors|model\.safetensors\.index\.json")


@dataclass
class Result:
    """What `materialize` wrote.

    Attributes
    ----------
    path : str
        The output file or folder.
    files : list of str
        Every file written (shards, index, config.json), absolute paths.
    tensors : int
        Number of tensors.
    nbytes : int
        Bytes of tensor data (headers excluded).
    parameters : int
        Number of elements over all tensors.
    seconds : float
        Wall time of the write, fsync included.
    params : list of Param
        The validated plan: every tensor, in state_dict order.
    stale : list of str
        Temporaries of earlier, killed runs to the same output that were removed (with
        ``dry_run``: that would be removed).
    """
    path: str
    files: list = field(default_factory=list)
    tensors: int = 0
    nbytes: int = 0
    parameters: int = 0
    seconds: float = 0.0
    params: list = field(default_factory=list, repr=False)
    stale: list = field(default_factory=list)


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


def _parse_overrides(overrides):
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

def _read_spec(spec):
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


def _check_dtype(dtype, what):
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


def _own_spec(doc):
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
    dtype = None if doc.get("dtype") is None else _check_dtype(doc["dtype"], "spec dtype")
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
        tdtype = None if t.get("dtype") is None else _check_dtype(t["dtype"],
                                                                 f"tensor {name!r} dtype")
        params.append(Param(name, shape, init, p, tdtype))
    return params, dtype, seed, meta


def _config_dtype(cfg):
    """(key, value) of the config's dtype (``dtype`` wins over ``torch_dtype``, as in
    transformers 5), or None when it has none or says ``auto``."""
    for key in ("dtype", "torch_dtype"):
        v = cfg.get(key)
        if v is not None and v != "auto":
            return key, v
    return None


def _initializer(name):
    """The fastinit function called `name` (looked up at call time), or SpecError."""
    fn = getattr(fastinit, name, None) if not name.startswith("_") else None
    if fn is None and not name.startswith("_"):
        try:
            from .. import initializers as _inits
            fn = getattr(_inits, name, None)
        except ImportError:
            fn = None
    if callable(fn):
        try:
            sig = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            sig = {}
        if all(k in sig for k in ("out", "dtype", "rng", "global_shape", "index")):
            return fn
    raise SpecError(f"unknown initializer {name!r}: use normal, uniform, truncated_normal, "
                    f"random, zeros, ones, constant or a fastinit initializer such as "
                    f"xavier_uniform")


def _storage_constant(value, dtype, name):
    """`value` as the dtype's storage scalar (bfloat16: its uint16 bits)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"tensor {name!r}: constant value must be a number, got {value!r}")
    x = float(value)
    if dtype == "bfloat16":
        r = _dtypes._bf16_round(x)
        if math.isinf(r) and math.isfinite(x):
            raise SpecError(f"tensor {name!r}: constant {value!r} overflows bfloat16")
        bits = int(np.array(r, np.float32).view(np.uint32)) >> 16
        if math.isnan(x):
            bits = 0x7FC0
        return np.uint16(bits)
    with np.errstate(over="ignore"):
        v = st.DTYPES[dtype][1].type(x)
    if math.isinf(v) and math.isfinite(x):
        raise SpecError(f"tensor {name!r}: constant {value!r} overflows {dtype}")
    return v


def _validate(p):
    """Check one planned tensor fully (the initializer's own checks included); no output."""
    if p.init in ("zeros", "ones"):
        if p.params:
            raise SpecError(f"tensor {p.name!r}: {p.init} takes no parameters, got "
                            f"{sorted(p.params)}")
        return
    if p.init == "constant":
        if set(p.params) != {"value"}:
            raise SpecError(f"tensor {p.name!r}: constant needs exactly one parameter, value "
                            f"(e.g. 'constant(value=0.5)'), got {sorted(p.params)}")
        _storage_constant(p.params["value"], p.dtype, p.name)
        return
    fn = _initializer(p.init)
    bad = sorted(set(p.params) & set(_RESERVED))
    if bad:
        raise SpecError(f"tensor {p.name!r}: {bad} cannot be initializer parameters (the "
                        f"shape, dtype and stream come from the spec)")
    storage = st.DTYPES[p.dtype][1]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if p.shape == ():
                fn(out=np.empty((), storage), dtype=p.dtype, rng=0, threads=1, **p.params)
            else:
                # an empty block of the real tensor: every argument is checked (fans from
                # global_shape), nothing is drawn
                fn(out=np.empty((0,) + p.shape[1:], storage), dtype=p.dtype, rng=0,
                   threads=1, global_shape=p.shape, index=(slice(0, 0),), **p.params)
    except (TypeError, ValueError) as e:
        raise SpecError(f"tensor {p.name!r} {list(p.shape)}: {p.init}"
                        f"({', '.join(f'{k}={v!r}' for k, v in p.params.items())}): {e}") \
            from None


def _load(spec):
    """(kind, params, default dtype, spec seed, metadata, hf config or None)."""
    doc, _ = _read_spec(spec)
    if "model_type" in doc:
        if "tensors" in doc:
            raise SpecError("spec has both 'model_type' (a Hugging Face config) and 'tensors' "
                            "(a fastinit tensor spec): which is it?")
        return "hf", params_of_config(doc), _config_dtype(doc), None, {}, doc
    if "tensors" in doc:
        params, dtype, seed, meta = _own_spec(doc)
        return "fastinit", params, dtype, seed, meta, None
    raise SpecError("spec is neither a Hugging Face config.json (no 'model_type'; supported: "
                    f"{', '.join(sorted(FAMILIES))}) nor a fastinit tensor spec (no 'tensors')")


def _plan(spec, dtype, seed, overrides):
    kind, params, spec_dtype, spec_seed, meta, cfg = _load(spec)
    if dtype is not None:
        dtype = _check_dtype(dtype, "dtype")
    elif isinstance(spec_dtype, tuple):
        # a config's dtype that is not an output dtype (float8_e4m3fn, int8, ...) is an
        # error, never a silent float32; --dtype chooses one instead
        key, value = spec_dtype
        try:
            spec_dtype = _check_dtype(value, f"config {key}")
        except SpecError as e:
            raise SpecError(f"{e}: materialize does not write {value!r} tensors; pass "
                            f"--dtype (dtype=) to choose an output dtype") from None
    default = dtype or spec_dtype or "float32"
    if seed is None:
        seed = 0 if spec_seed is None else spec_seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecError(f"seed must be a non-negative integer, got {seed!r}")
    seen = set()
    for p in params:
        if p.name in seen:
            raise SpecError(f"duplicate tensor name {p.name!r}")
        seen.add(p.name)
        if p.dtype is None or kind == "hf":
            p.dtype = default
    for pattern, match, name, kw in _parse_overrides(overrides):
        hit = False
        for p in params:
            if match(p.name):
                p.init, p.params, p.zero_rows, hit = name, dict(kw), (), True
        if not hit:
            raise SpecError(f"override pattern {pattern!r} matches no tensor")
    for p in params:
        _validate(p)
    return kind, params, int(seed), meta, cfg


def plan(spec, *, dtype=None, seed=None, overrides=None):
    """The tensors `materialize` would write, fully validated; nothing is written.

    Parameters
    ----------
    spec, dtype, seed, overrides
        As for `materialize`.

    Returns
    -------
    list of Param
        Name, shape, dtype, initializer and its parameters of each tensor, in file order.

    Raises
    ------
    SpecError
        Unknown architecture, malformed spec, bad initializer or parameters.
    """
    return _plan(spec, dtype, seed, overrides)[1]


# --- filling ---------------------------------------------------------------------------------

def _slabs(shape, itemsize, slab_bytes):
    """(index, block shape, element offset) of consecutive C-order slabs of a tensor.

    Slabs are runs of the first axis k whose trailing block ``shape[k+1:]`` fits in
    `slab_bytes`; the axes before k are fixed by integer indexes.
    """
    n = math.prod(shape)
    if n * itemsize <= slab_bytes or not shape:
        yield None, shape, 0
        return
    k = 0
    while math.prod(shape[k + 1:]) * itemsize > slab_bytes:
        k += 1
    inner = math.prod(shape[k + 1:])
    rows = max(1, slab_bytes // (inner * itemsize))
    for outer in np.ndindex(*shape[:k]):
        base = (int(np.ravel_multi_index(outer, shape[:k])) * shape[k] if k else 0) * inner
        for a in range(0, shape[k], rows):
            b = min(a + rows, shape[k])
            yield tuple(outer) + (slice(a, b),), (b - a,) + shape[k + 1:], base + a * inner


def _zero_rows(view, index, rows):
    """Zero the rows of `rows` (leading-axis indices) that fall in this slab."""
    if not rows:
        return
    if index is None:
        for r in rows:
            view[r] = 0
    elif isinstance(index[0], slice):
        for r in rows:
            if index[0].start <= r < index[0].stop:
                view[r - index[0].start] = 0
    elif index[0] in rows:
        view[...] = 0


def _fill_tensor(shard, offset, p, seed, threads, slab_bytes, tick):
    """Fill tensor `p` at byte `offset` of `shard`; `tick(nbytes)` after each slab."""
    size = st.itemsize(p.dtype)
    if math.prod(p.shape) == 0:
        return
    if p.init in _CONSTANTS:
        value = {"zeros": 0.0, "ones": 1.0}.get(p.init) if p.init != "constant" \
            else p.params["value"]
        value = _storage_constant(value, p.dtype, p.name)

        def run(view, index):
            view[...] = value
    else:
        fn = _initializer(p.init)
        rng = seed_for(seed, p.name)
        if p.init not in _BLOCKWISE:
            slab_bytes = math.inf

        def run(view, index):
            if index is None:
                fn(out=view, dtype=p.dtype, rng=rng, threads=threads, **p.params)
            else:
                fn(out=view, dtype=p.dtype, rng=rng, threads=threads, global_shape=p.shape,
                   index=index, **p.params)
            _zero_rows(view, index, p.zero_rows)

    for index, bshape, start in _slabs(p.shape, size, slab_bytes):
        shard.fill(offset + start * size, p.dtype, bshape, lambda v: run(v, index))
        tick(math.prod(bshape) * size)


def _batchable(p, slab_bytes):
    """Whether `p` can join a batched run: a constant, or an initializer that is (at call
    time) one of those `fastinit.fill_many` batches."""
    from .._many import _BY_ID
    if not 0 < math.prod(p.shape) * st.itemsize(p.dtype) <= slab_bytes:
        return False
    return p.init in _CONSTANTS or id(_initializer(p.init)) in _BY_ID


def _runs(params, slab_bytes):
    """Consecutive tensors (in file order) of one dtype, each and together within
    `slab_bytes`, whose initializers `fastinit.fill_many` batches; others alone."""
    run, size = [], 0
    for p in params:
        nbytes = math.prod(p.shape) * st.itemsize(p.dtype)
        if not _batchable(p, slab_bytes):
            if run:
                yield run
            run, size = [], 0
            yield [p]
            continue
        if run and (run[0].dtype != p.dtype or size + nbytes > slab_bytes):
            yield run
            run, size = [], 0
        run.append(p)
        size += nbytes
    if run:
        yield run


def _fill_run(shard, offsets, run, seed, threads, tick):
    """Fill a run of small tensors through one mapping and one batched engine call."""
    size = st.itemsize(run[0].dtype)
    start = offsets[run[0].name]
    count = sum(math.prod(p.shape) for p in run)

    def fill(buf):
        items, consts = [], []
        for p in run:
            a = (offsets[p.name] - start) // size
            view = buf[a:a + math.prod(p.shape)].reshape(p.shape)
            if p.init in _CONSTANTS:
                value = {"zeros": 0.0, "ones": 1.0}.get(p.init) if p.init != "constant" \
                    else p.params["value"]
                consts.append((view, _storage_constant(value, p.dtype, p.name)))
            else:
                items.append((_initializer(p.init), view, dict(p.params, dtype=p.dtype,
                                                 rng=seed_for(seed, p.name))))
        fastinit.fill_many(items, threads=threads)
        for view, value in consts:
            view[...] = value
        for p in run:
            a = (offsets[p.name] - start) // size
            _zero_rows(buf[a:a + math.prod(p.shape)].reshape(p.shape), None, p.zero_rows)

    shard.fill(start, run[0].dtype, (count,), fill)
    tick(count * size)
    tick(tensors=len(run))


class _Progress:
    """Tensors, bytes, rate and ETA on stderr: one updating line on a terminal, else a line
    every few seconds."""

    def __init__(self, ntensors, nbytes, enabled, stream=None):
        self.ntensors, self.nbytes = ntensors, nbytes
        self.stream = stream if stream is not None else sys.stderr
        self.callback = enabled if callable(enabled) else None
        self.enabled = bool(enabled) and self.callback is None
        self.tty = self.enabled and getattr(self.stream, "isatty", lambda: False)()
        self.interval = 0.2 if self.tty else 5.0
        self.t0 = time.perf_counter()
        self.last = -math.inf
        self.tensors = 0
        self.bytes = 0

    def add(self, nbytes=0, tensors=0):
        self.bytes += nbytes
        self.tensors += tensors
        if self.callback is not None:
            self.callback(self.tensors, self.ntensors, self.bytes, self.nbytes)
        if self.enabled:
            now = time.perf_counter()
            if now - self.last >= self.interval:
                self.last = now
                self._emit(self._line(now))

    def _line(self, now):
        dt = max(now - self.t0, 1e-9)
        rate = self.bytes / dt
        left = (self.nbytes - self.bytes) / rate if rate > 0 else math.inf
        eta = "--" if not math.isfinite(left) else _hms(left)
        return (f"fastinit materialize: {self.tensors}/{self.ntensors} tensors | "
                f"{_gb(self.bytes)}/{_gb(self.nbytes)} | {rate / 1e9:.2f} GB/s | ETA {eta}")

    def _emit(self, line, end=False):
        if self.tty:
            self.stream.write("\r\x1b[K" + line + ("\n" if end else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def message(self, text):
        if self.enabled:
            if self.tty:
                self.stream.write("\r\x1b[K")
            self._emit(f"fastinit materialize: {text}", end=True)

    def done(self):
        if self.enabled:
            self._emit(self._line(time.perf_counter()), end=True)


def _gb(n):
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def _hms(s):
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60}:{s % 60:02d}"


# --- output ----------------------------------------------------------------------------------

def _shards(params, max_shard):
    """Hugging Face's split: in order, a new shard when the next tensor would overflow the
    current one; a tensor larger than the limit gets a shard of its own."""
    shards, cur, cur_size = [], [], 0
    for p in params:
        n = math.prod(p.shape) * st.itemsize(p.dtype)
        if n > max_shard:
            shards.append([p])
            continue
        if cur and cur_size + n > max_shard:
            shards.append(cur)
            cur, cur_size = [], 0
        cur.append(p)
        cur_size += n
    if cur or not shards:
        shards.append(cur)
    return shards


def _config_json(cfg, dtype):
    # transformers 5 reads "dtype", 4.x "torch_dtype" (5 accepts it silently; "dtype" wins)
    cfg = dict(cfg)
    # the class whose tensors were written, whatever the input said, as save_pretrained
    # records it (tools such as vLLM pick the model class from this field)
    cfg["architectures"] = [ARCHITECTURES[cfg["model_type"]]]
    cfg["dtype"] = dtype
    cfg["torch_dtype"] = dtype
    return (json.dumps(cfg, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _clash(out, names, extra):
    """(files of `out` the new checkpoint would replace or remove, old checkpoint files
    that are not replaced)."""
    present = set(os.listdir(out))
    targets = set(names) | set(extra)
    stale = sorted(f for f in present if _STALE.fullmatch(f) and f not in targets)
    return sorted((present & targets) | set(stale)), stale


def _lost_race(out):
    return FileExistsError(f"{out!r} was created by another process while this run was "
                           f"writing; nothing was replaced and this run's files were removed "
                           f"(pass force=True (--force) to replace it)")


def _move_into(out, workdir, names, extra, force):
    """Move the new checkpoint's files from `workdir` into the existing folder `out`.

    Shards first (new names never clash with an old index's shards, so the old checkpoint
    stays loadable), then the index and config, then the old checkpoint's leftovers. Under
    the folder's lock, so that of two runs moving files into one folder the second sees
    what the first moved (and fails without `force`).
    """
    order = names + [x for x in extra if x != "config.json"] + \
        [x for x in extra if x == "config.json"]
    with _atomic.FolderLock(out):
        clash, stale = _clash(out, names, extra)
        if clash and not force:
            raise FileExistsError(f"{out!r} now holds {', '.join(clash)}, written by another "
                                  f"process while this run was writing; nothing was "
                                  f"replaced (pass force=True (--force) to replace the "
                                  f"checkpoint)")
        if len(names) > 1 and "model.safetensors" in stale:
            os.unlink(os.path.join(out, "model.safetensors"))
        moved = []
        try:
            for name in order:
                src, dst = os.path.join(workdir, name), os.path.join(out, name)
                if force:
                    os.replace(src, dst)
                else:
                    _atomic.publish(src, dst)
                moved.append(dst)
        except BaseException as e:
            if not force:               # put nothing half in place
                for dst in moved:
                    try:
                        os.unlink(dst)
                    except OSError:
                        pass
                if isinstance(e, FileExistsError):
                    raise _lost_race(os.path.join(out, os.path.basename(e.filename or ""))) \
                        from None
            raise
        for name in stale:
            try:
                os.unlink(os.path.join(out, name))
            except FileNotFoundError:
                pass
        _fsync_dir(out)
    return [os.path.join(out, x) for x in order]


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def materialize(spec, out, *, dtype=None, seed=None, max_shard_size=None, overrides=None,
                force=False, threads=None, progress=False, slab_bytes=None, dry_run=False):
    """Write a randomly initialised checkpoint for `spec` to `out`, at disk speed.

    Parameters
    ----------
    spec : str, os.PathLike or dict
        A Hugging Face ``config.json`` (``model_type`` llama, mistral, qwen2 or gpt2; a
        folder holding one also works) or a fastinit tensor spec (``.json``, ``.yaml``/
        ``.yml``), or the parsed dict of either. See the README (``fastinit materialize``) for the schema.
    out : str or os.PathLike
        A path ending in ``.safetensors`` writes one file. Anything else is a folder laid out
        like ``save_pretrained``: ``model.safetensors``, or shards
        ``model-0000k-of-0000N.safetensors`` and ``model.safetensors.index.json`` when the
        tensors exceed `max_shard_size`; plus ``config.json`` (with ``dtype`` and
        ``torch_dtype`` set) for a Hugging Face spec. Other files already in the folder (a
        tokenizer, ...) are kept.
    dtype : {'float32', 'bfloat16', 'float16', 'float64'}, optional
        Output dtype. Default: the config's ``dtype``/``torch_dtype`` for a Hugging Face spec,
        else float32; in a tensor spec a tensor's own ``dtype`` wins over this, which wins
        over the spec's top-level ``dtype``.
    seed : int, optional
        Model seed (default: the spec's ``seed``, else 0). Tensor ``name`` is filled from
        ``fastinit.seed_for(seed, name)``.
    max_shard_size : int or str, optional
        Largest shard, e.g. ``"5GB"`` (default, decimal units as in Hugging Face) or
        ``"2GiB"``; folder output only.
    overrides : dict or list, optional
        Replace the initializer of matching tensors: ``{pattern: init}``, or a list of
        ``"PATTERN=INIT"`` strings or ``(pattern, init)`` pairs. A pattern is an fnmatch
        glob on the full name (``"*.mlp.down_proj.weight"``), or ``"re:REGEX"`` (a full
        match). `init` is ``"normal(std=0.002)"``-style text or ``(name, params)``; it
        replaces the initializer and all its parameters. Later entries win; a pattern that
        matches nothing is an error.
    force : bool
        Replace existing output files. Without it, an existing output file (or, for a
        folder, any checkpoint file it would write or replace) is an error.
    threads : int, optional
        Fill threads (default: fastinit's). Never changes the values.
    progress : bool or callable, optional
        True: progress (tensors, bytes, rate, ETA) on stderr. A callable is called as
        ``progress(tensors_done, tensors_total, bytes_done, bytes_total)`` after each slab.
    slab_bytes : int, optional
        Bytes filled per mapped slab (default `SLAB_BYTES`, 64 MiB); bounds peak memory.
    dry_run : bool
        Make every check a real run makes (spec, arguments, output path, free space) and
        return what would be written; create, change or remove nothing.

    Returns
    -------
    Result
        Paths written (with `dry_run`: that would be written), tensor count, bytes, wall
        time, the plan.

    Raises
    ------
    SpecError
        Unknown architecture, malformed spec, missing fields, bad overrides or initializer
        parameters — raised before anything is created.
    FileExistsError
        The output exists and `force` is false.
    OSError
        Not enough free disk space (checked up front), or an I/O error while writing; every
        temporary file is removed and nothing is left under the final name.

    Examples
    --------
    >>> import fastinit.materialize as fm                           # doctest: +SKIP
    >>> fm.materialize("config.json", "llama-random", dtype="bfloat16")  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    for name, value in (("force", force), ("dry_run", dry_run)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}")
    if not (isinstance(progress, (bool, np.bool_)) or callable(progress)):
        raise TypeError(f"progress must be True, False or a callable, got {progress!r}")
    if slab_bytes is not None and (isinstance(slab_bytes, bool)
                                   or not isinstance(slab_bytes, (int, np.integer))):
        raise TypeError(f"slab_bytes must be an int, got {slab_bytes!r}")
    kind, params, seed, meta, cfg = _plan(spec, dtype, seed, overrides)
    threads = resolve_threads(threads)
    slab_bytes = SLAB_BYTES if slab_bytes is None else int(slab_bytes)
    if slab_bytes < 8:
        raise ValueError(f"slab_bytes must be at least 8, got {slab_bytes}")
    out = os.path.abspath(os.fspath(out))
    single = out.endswith(".safetensors") and not os.path.isdir(out)
    if single and max_shard_size is not None:
        raise SpecError("max_shard_size needs a folder output: OUT ending in .safetensors is "
                        "one file")
    max_shard = parse_size(DEFAULT_MAX_SHARD_SIZE if max_shard_size is None
                           else max_shard_size)
    shards = [params] if single else _shards(params, max_shard)
    n = len(shards)
    names = ([os.path.basename(out)] if single else
             ["model.safetensors"] if n == 1 else
             [f"model-{i + 1:05d}-of-{n:05d}.safetensors" for i in range(n)])
    metadata = {"format": "pt", **meta}
    layouts = [st.layout([(p.name, p.dtype, p.shape) for p in s], metadata) for s in shards]
    nbytes = sum(math.prod(p.shape) * st.itemsize(p.dtype) for p in params)
    extra = {}
    if not single:
        if n > 1:
            index = {"metadata": {"total_parameters": sum(math.prod(p.shape) for p in params),
                                  "total_size": nbytes},
                     "weight_map": {p.name: names[i] for i, s in enumerate(shards) for p in s}}
            extra["model.safetensors.index.json"] = (
                json.dumps(index, indent=2, sort_keys=True) + "\n").encode("utf-8")
        if cfg is not None:
            extra["config.json"] = _config_json(cfg, params[0].dtype if params else "float32")

    # -- where to write, and what may be replaced
    parent = os.path.dirname(out)
    if os.path.exists(parent) and not os.path.isdir(parent):
        raise NotADirectoryError(f"{parent!r} is not a directory")
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"output directory {parent!r} does not exist")
    if not single and os.path.lexists(out) and not os.path.isdir(out):
        raise FileExistsError(f"{out!r} exists and is not a folder")
    # temporaries of earlier runs to this output that were killed (SIGKILL, power loss)
    stale_tmp = _atomic.stale_temporaries(parent, "." + os.path.basename(out),
                                          remove=not dry_run)
    if not single and os.path.isdir(out):
        stale_tmp += _atomic.stale_temporaries(out, "", remove=not dry_run)
    for path, size, pid in stale_tmp:
        sys.stderr.write(f"fastinit materialize: {'would remove' if dry_run else 'removed'} "
                         f"stale temporary {path} ({_gb(size)}), left by process {pid} "
                         f"which is no longer running\n")
    existing_dir = False
    if single:
        if os.path.lexists(out) and not force:
            raise FileExistsError(f"{out!r} exists; pass force=True (--force) to replace it")
    elif os.path.isdir(out):
        existing_dir = True
        clash = _clash(out, names, extra)[0]
        if clash and not force:
            raise FileExistsError(f"{out!r} already holds {', '.join(clash)}; pass "
                                  f"force=True (--force) to replace the checkpoint")
    need = sum(size for _, _, size in layouts) + sum(len(b) for b in extra.values())
    free = shutil.disk_usage(out if existing_dir else parent).free
    if need > free:
        raise OSError(28, f"not enough disk space: the checkpoint needs {_gb(need)}, "
                          f"{_gb(free)} free on {parent!r}")
    if dry_run:
        return Result(path=out, files=[out] if single else
                      [os.path.join(out, x) for x in names + list(extra)],
                      tensors=len(params), nbytes=nbytes,
                      parameters=sum(math.prod(p.shape) for p in params),
                      seconds=time.perf_counter() - t0, params=params,
                      stale=[x[0] for x in stale_tmp])

    if single:
        workdir = None
        tmp_paths = [os.path.join(parent, _atomic.temp_name("." + names[0]))]
    else:
        workdir = os.path.join(out, _atomic.temp_name("")) if existing_dir else \
            os.path.join(parent, _atomic.temp_name("." + os.path.basename(out)))
        tmp_paths = [os.path.join(workdir, name) for name in names]
    files, created = [], []
    workdir_fd = None
    bar = _Progress(len(params), nbytes, progress)
    try:
        if workdir is not None:
            os.mkdir(workdir)
            # held until the end: a later run sees that this temporary is in use
            workdir_fd = os.open(workdir, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            _atomic.lock(workdir_fd)
        for s, (header, offsets, size), path in zip(shards, layouts, tmp_paths):
            f = st.ShardFile(path, header, size)
            created.append(path)
            files.append(f)
            for run in _runs(sorted(s, key=lambda p: offsets[p.name]), slab_bytes):
                if len(run) > 1:
                    _fill_run(f, offsets, run, seed, threads, bar.add)
                    continue
                p = run[0]
                _fill_tensor(f, offsets[p.name], p, seed, threads, slab_bytes, bar.add)
                bar.add(tensors=1)
        bar.done()
        for name, blob in extra.items():
            path = os.path.join(workdir, name)
            created.append(path)
            with open(path, "xb") as fh:
                fh.write(blob)
                fh.flush()
                os.fsync(fh.fileno())
        bar.message("syncing to disk")
        for f in files:
            f.sync()
        # -- commit: into place, replacing nothing unless force (another run may have
        # created the output since the checks above: exactly one of them wins)
        if single:
            if force:
                os.replace(tmp_paths[0], out)
            else:
                try:
                    _atomic.publish(tmp_paths[0], out)
                except FileExistsError:
                    raise _lost_race(out) from None
            written = [out]
            _fsync_dir(parent)
        elif not existing_dir:
            _fsync_dir(workdir)
            try:
                _atomic.publish(workdir, out)
                workdir = None
                written = [os.path.join(out, x) for x in names + list(extra)]
            except FileExistsError:
                if not (force and os.path.isdir(out) and not os.path.islink(out)):
                    raise _lost_race(out) from None
                written = _move_into(out, workdir, names, extra, force)
            _fsync_dir(parent)
        else:
            written = _move_into(out, workdir, names, extra, force)
        if workdir is not None:
            os.rmdir(workdir)
            workdir = None
    except BaseException:
        for f in files:
            f.close()
        for path in created:
            try:
                os.unlink(path)
            except OSError:
                pass
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    finally:
        for f in files:
            f.close()
        if workdir_fd is not None:
            os.close(workdir_fd)
    result = Result(path=out, files=written, tensors=len(params), nbytes=nbytes,
                    parameters=sum(math.prod(p.shape) for p in params),
                    seconds=time.perf_counter() - t0, params=params,
                    stale=[x[0] for x in stale_tmp])
    bar.message(f"wrote {result.tensors} tensors, {_gb(nbytes)} in {result.seconds:.1f} s "
                f"({nbytes / max(result.seconds, 1e-9) / 1e9:.2f} GB/s) to {out}")
    return result


# --- command line ----------------------------------------------------------------------------

def _parser():
    ap = argparse.ArgumentParser(
        prog="fastinit materialize",
        description="Write a randomly initialised checkpoint (safetensors) for a Hugging Face "
                    "config.json (llama, mistral, qwen2, gpt2) or a fastinit tensor spec "
                    "(JSON/YAML), filling tensors in place on disk in parallel.",
        epilog="Example: fastinit materialize config.json -o llama-random --dtype bfloat16 "
               "--override '*.down_proj.weight=normal(std=0.002)'")
    ap.add_argument("spec", metavar="SPEC",
                    help="config.json (or a folder with one), or a tensor spec .json/.yaml")
    ap.add_argument("-o", "--output", required=True, metavar="OUT",
                    help="OUT.safetensors for one file, else a folder (sharded like "
                         "save_pretrained, with config.json)")
    ap.add_argument("--max-shard-size", metavar="SIZE", default=None,
                    help="largest shard, e.g. 5GB (default), 500MB, 2GiB (folder output)")
    ap.add_argument("--dtype", choices=DTYPES, default=None,
                    help="output dtype (default: the config's dtype, else float32)")
    ap.add_argument("--seed", type=int, default=None,
                    help="model seed (default: the spec's seed, else 0)")
    ap.add_argument("--override", action="append", default=[], metavar="PATTERN=INIT",
                    help="initializer for tensors matching PATTERN (fnmatch glob, or "
                         "re:REGEX), e.g. '*.norm.weight=ones' or "
                         "'re:.*\\.(q|k)_proj\\.weight=normal(std=0.01)'; repeatable, later "
                         "ones win")
    ap.add_argument("--force", action="store_true", help="replace existing output files")
    ap.add_argument("--threads", type=int, default=None, help="fill threads (default: all)")
    ap.add_argument("--dry-run", action="store_true",
                    help="make every check of a real run (spec, options, output, free "
                         "space) and print the tensors; write nothing")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return ap


def _print_plan(params, stream):
    total = 0
    for p in params:
        nb = math.prod(p.shape) * st.itemsize(p.dtype)
        total += nb
        args = ", ".join(f"{k}={v!r}" for k, v in p.params.items())
        pad = f" pad_rows={list(p.zero_rows)}" if p.zero_rows else ""
        stream.write(f"{p.name}\t{list(p.shape)}\t{p.dtype}\t{p.init}({args}){pad}\n")
    stream.write(f"# {len(params)} tensors, {sum(math.prod(p.shape) for p in params)} "
                 f"parameters, {_gb(total)}\n")


def main(argv=None):
    """Command-line entry: ``fastinit materialize SPEC -o OUT [options]``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments after ``materialize`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 success, 1 error (message on stderr, nothing written),
        130 interrupted (temporary files removed), 141 output pipe closed by its reader
        (``--dry-run | head``; quietly, temporary files removed). Usage errors exit 2 via
        argparse.
    """
    return run_cli(_main, argv)


def _main(argv):
    args = _parser().parse_args(argv)
    prog = "fastinit materialize"
    if args.dry_run:
        # every check of a real run (threads, shard size, output, free space), no writing
        try:
            res = materialize(args.spec, args.output, dtype=args.dtype, seed=args.seed,
                              max_shard_size=args.max_shard_size, overrides=args.override,
                              force=args.force, threads=args.threads, dry_run=True)
        except BrokenPipeError:
            raise
        except (SpecError, OSError, TypeError, ValueError) as e:
            sys.stderr.write(f"{prog}: error: {e}\n")
            return 1
        _print_plan(res.params, sys.stdout)
        return 0
    # SIGTERM (kill, a job scheduler) and SIGHUP (the terminal closed) end the run like
    # Ctrl-C: temporaries removed. SIGKILL cannot be caught: the next run to the same
    # output removes what it left.
    old_handlers = {}

    def _stop(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        # an ignored signal stays ignored (`nohup fastinit materialize ...`)
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) != signal.SIG_IGN:
            try:
                old_handlers[name] = signal.signal(getattr(signal, name), _stop)
            except ValueError:          # not the main thread
                pass
    try:
        materialize(args.spec, args.output, dtype=args.dtype, seed=args.seed,
                    max_shard_size=args.max_shard_size, overrides=args.override,
                    force=args.force, threads=args.threads, progress=not args.quiet)
    except KeyboardInterrupt:
        try:        # after SIGHUP the terminal may be gone
            sys.stderr.write(f"\n{prog}: interrupted; temporary files removed, nothing "
                             f"written\n")
        except OSError:
            pass
        return 130
    except BrokenPipeError:             # progress into a closed pipe: run_cli ends quietly
        raise
    except (SpecError, OSError, TypeError, ValueError) as e:
        sys.stderr.write(f"{prog}: error: {e}\n")
        return 1
    finally:
        for name, handler in old_handlers.items():
            signal.signal(getattr(signal, name), handler)
    return 0

