"""From a spec to a validated plan: the tensors, their initializers, and the files they go to.

`make_plan` reads the spec (a Hugging Face config through `fastinit.materialize.families`, or
a fastinit tensor spec), settles each tensor's dtype and the seed, applies the overrides and
checks every tensor against its initializer by calling it on an empty block of the real
tensor, so that a bad parameter is an error before anything is created. `lay_out` splits the
plan into shards as ``save_pretrained`` does and settles every file's name and header, the
index and ``config.json``.
"""

import inspect
import json
import math
import os
import warnings
from dataclasses import dataclass

import numpy as np

import fastinit

from .. import _dtypes
from . import safetensors as st
from .families import ARCHITECTURES, FAMILIES, params_of_config
from .spec import (SpecError, check_dtype, config_dtype, own_spec, parse_overrides,
                   parse_size, read_spec)

DEFAULT_MAX_SHARD_SIZE = "5GB"
_RESERVED = ("shape", "out", "dtype", "rng", "threads", "global_shape", "index")


def initializer(name):
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


def storage_constant(value, dtype, name):
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
        storage_constant(p.params["value"], p.dtype, p.name)
        return
    fn = initializer(p.init)
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
    doc, _ = read_spec(spec)
    if "model_type" in doc:
        if "tensors" in doc:
            raise SpecError("spec has both 'model_type' (a Hugging Face config) and 'tensors' "
                            "(a fastinit tensor spec): which is it?")
        return "hf", params_of_config(doc), config_dtype(doc), None, {}, doc
    if "tensors" in doc:
        params, dtype, seed, meta = own_spec(doc)
        return "fastinit", params, dtype, seed, meta, None
    raise SpecError("spec is neither a Hugging Face config.json (no 'model_type'; supported: "
                    f"{', '.join(sorted(FAMILIES))}) nor a fastinit tensor spec (no 'tensors')")


def make_plan(spec, dtype, seed, overrides):
    """(kind, params, seed, metadata, hf config or None) of a spec: `plan` and what
    `materialize` needs besides, every tensor validated."""
    kind, params, spec_dtype, spec_seed, meta, cfg = _load(spec)
    if dtype is not None:
        dtype = check_dtype(dtype, "dtype")
    elif isinstance(spec_dtype, tuple):
        # a config's dtype that is not an output dtype (float8_e4m3fn, int8, ...) is an
        # error, never a silent float32; --dtype chooses one instead
        key, value = spec_dtype
        try:
            spec_dtype = check_dtype(value, f"config {key}")
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
    for pattern, match, name, kw in parse_overrides(overrides):
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
    return make_plan(spec, dtype, seed, overrides)[1]


# --- files -----------------------------------------------------------------------------------

@dataclass
class Checkpoint:
    """The files of a checkpoint, settled before any is created.

    Attributes
    ----------
    out : str
        The output, an absolute path.
    single : bool
        One ``.safetensors`` file at `out`, else a folder.
    shards : list of list of Param
        The tensors of each safetensors file, in order.
    names : list of str
        The file name of each shard.
    layouts : list of tuple
        ``(header, offsets, size)`` of each shard, as `fastinit.materialize.safetensors.layout`
        gives them.
    extra : dict
        File name -> bytes of the other files of a folder (index, ``config.json``).
    nbytes : int
        Bytes of tensor data.
    """
    out: str
    single: bool
    shards: list
    names: list
    layouts: list
    extra: dict
    nbytes: int


def lay_out(out, params, meta, cfg, max_shard_size):
    """The `Checkpoint` that writes `params` (with metadata `meta`, Hugging Face config `cfg`
    or None) to `out`."""
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
    return Checkpoint(out, single, shards, names, layouts, extra, nbytes)


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
