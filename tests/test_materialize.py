"""fastinit.materialize: checkpoints written in place on disk, read back by real clients.

The Hugging Face tests load the output with the ``safetensors`` library and with
``transformers.AutoModelForCausalLM.from_pretrained`` (offline, from the local folder) and
require a clean load: no missing/unexpected/mismatched keys, no warning logged.
"""

import functools
import glob
import json
import logging
import math
import os
import signal
import subprocess
import sys
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import fastinit  # noqa: E402
import fastinit.materialize as fm  # noqa: E402
from fastinit.materialize.safetensors import read_header  # noqa: E402

SEED = 1234

LLAMA = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64,
         "intermediate_size": 160, "num_hidden_layers": 2, "num_attention_heads": 4,
         "num_key_value_heads": 2, "vocab_size": 1000, "max_position_embeddings": 128,
         "initializer_range": 0.02, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2,
         "tie_word_embeddings": False}
QWEN2 = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_size": 64,
         "intermediate_size": 160, "num_hidden_layers": 2, "num_attention_heads": 4,
         "num_key_value_heads": 2, "vocab_size": 1000, "max_position_embeddings": 128,
         "initializer_range": 0.05, "tie_word_embeddings": True, "bos_token_id": 1,
         "eos_token_id": 2}
MISTRAL = {"model_type": "mistral", "hidden_size": 64, "intermediate_size": 160,
           "num_hidden_layers": 2, "num_attention_heads": 8, "vocab_size": 1000,
           "head_dim": 16, "bos_token_id": 1, "eos_token_id": 2}
GPT2 = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": 64,
        "n_layer": 2, "n_head": 4, "n_positions": 64, "vocab_size": 1000,
        "initializer_range": 0.02, "bos_token_id": 1, "eos_token_id": 2}
FAMILY_CONFIGS = {"llama": LLAMA, "qwen2": QWEN2, "mistral": MISTRAL, "gpt2": GPT2}


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f)
    return str(path)


def listing(d):
    """Every path under d (relative), for before/after comparisons."""
    out = set()
    for root, dirs, files in os.walk(d):
        for x in dirs + files:
            out.add(os.path.relpath(os.path.join(root, x), d))
    return out


def no_temp_files(d):
    return not [p for p in listing(d) if "fastinit-tmp" in p]


def read_bits(folder_or_file):
    """name -> (dtype tag, raw storage array) straight from the files (our own reader)."""
    files = ([folder_or_file] if str(folder_or_file).endswith(".safetensors")
             else sorted(glob.glob(os.path.join(folder_or_file, "*.safetensors"))))
    out = {}
    for path in files:
        header, start = read_header(path)
        raw = np.fromfile(path, dtype=np.uint8)
        for name, e in header.items():
            if name == "__metadata__":
                continue
            a, b = e["data_offsets"]
            storage = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "F64": "<f8"}[e["dtype"]]
            out[name] = (e["dtype"], raw[start + a:start + b].view(storage).reshape(e["shape"]))
    return out


def as_float(tag, arr):
    if tag == "BF16":
        return (arr.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return arr.astype(np.float64)


def storage_bits(a):
    a = np.asarray(a)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def family_reference(p, seed, dtype):
    """The tensor computed in memory by fastinit, as the family's init defines it (storage
    bits: uint16 for bfloat16)."""
    if p.init in ("zeros", "ones"):
        one = {"bfloat16": np.uint16(0x3F80), "float16": np.float16(1),
               "float32": np.float32(1), "float64": np.float64(1)}[dtype]
        return storage_bits(np.full(p.shape, one if p.init == "ones" else 0,
                                    np.asarray(one).dtype))
    assert p.init == "normal"
    return storage_bits(fastinit.normal(p.shape, p.params["mean"], p.params["std"],
                                        dtype=dtype, rng=fastinit.seed_for(seed, p.name)))


# --- transformers helpers --------------------------------------------------------------------

@pytest.fixture(scope="module")
def transformers():
    pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    return pytest.importorskip("transformers")


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def load_clean(transformers, folder):
    """from_pretrained(folder), asserting a clean load; returns the model."""
    handler = _Records()
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, info = transformers.AutoModelForCausalLM.from_pretrained(
                folder, output_loading_info=True)
    finally:
        logger.removeHandler(handler)
    assert not info["missing_keys"], info
    assert not info["unexpected_keys"], info
    assert not info["mismatched_keys"], info
    assert not info.get("error_msgs"), info
    msgs = [r.getMessage() for r in handler.records]
    assert not msgs, msgs
    key_warnings = [str(w.message) for w in caught
                    if any(s in str(w.message).lower()
                           for s in ("missing", "unexpected", "not initialized", "mismatch"))]
    assert not key_warnings, key_warnings
    return model


def hf_expected_tensors(transformers, cfg):
    """(name, shape) of what save_pretrained writes for cfg: the meta-device state_dict
    without the tied parameters."""
    import torch
    config = transformers.AutoConfig.for_model(**cfg)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    tied = set()
    if getattr(model.config, "tie_word_embeddings", False):
        tied = set(getattr(model, "_tied_weights_keys", None) or {})
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items() if k not in tied]


def saved_architectures(transformers, cfg):
    """``architectures`` of the config.json that save_pretrained writes for a (tiny) model
    of this config."""
    import tempfile
    config = transformers.AutoConfig.for_model(**cfg)
    model = transformers.AutoModelForCausalLM.from_config(config)
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        with open(os.path.join(d, "config.json")) as f:
            return json.load(f)["architectures"]


# --- the parameter tables against transformers ------------------------------------------------

TABLE_CASES = [
    LLAMA,
    dict(LLAMA, attention_bias=True, mlp_bias=True, tie_word_embeddings=True),
    {k: v for k, v in LLAMA.items() if k != "num_key_value_heads"},
    dict(LLAMA, head_dim=32),
    QWEN2,
    {k: v for k, v in QWEN2.items() if k not in ("num_key_value_heads", "tie_word_embeddings")}
    | {"num_attention_heads": 32, "hidden_size": 64},
    MISTRAL,
    dict(MISTRAL, num_key_value_heads=2, tie_word_embeddings=True),
    GPT2,
    dict(GPT2, n_inner=96, tie_word_embeddings=False),
]


@pytest.mark.parametrize("cfg", TABLE_CASES,
                         ids=lambda c: c["model_type"] + "-" + str(abs(hash(json.dumps(
                             c, sort_keys=True))) % 10000))
def test_tables_match_transformers(transformers, cfg):
    ours = [(p.name, p.shape) for p in fm.plan(cfg)]
    assert ours == hf_expected_tensors(transformers, cfg)


def transformers_accepts(transformers, cfg):
    """Whether transformers builds this config's causal LM and runs a forward pass (on the
    meta device: shapes only, no memory); the oracle of which geometries are valid."""
    import torch
    try:
        config = transformers.AutoConfig.for_model(**cfg)
        with torch.device("meta"):
            model = transformers.AutoModelForCausalLM.from_config(config)
            model(torch.zeros((1, 4), dtype=torch.long))
    except Exception:
        return False
    return True


_SMALL = {"intermediate_size": 32, "num_hidden_layers": 1, "vocab_size": 50}
GEOMETRY_CASES = [
    dict(_SMALL, model_type=family, **geometry)
    for family in ("llama", "mistral", "qwen2")
    for geometry in (
        {"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2},
        {"hidden_size": 100, "num_attention_heads": 3},
        {"hidden_size": 96, "num_attention_heads": 3},
        {"hidden_size": 99, "num_attention_heads": 3},          # head_dim 33: odd for RoPE
        {"hidden_size": 100, "num_attention_heads": 4, "head_dim": 34},
        {"hidden_size": 100, "num_attention_heads": 3, "head_dim": 34},
        {"hidden_size": 64, "num_attention_heads": 4, "head_dim": 33},
        {"hidden_size": 12, "num_attention_heads": 4},           # head_dim 3: RoPE allows <= 4
        {"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 3},
        {"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 8},
        {"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": None},
        {"hidden_size": 64, "num_attention_heads": 4},
        {"hidden_size": 64, "num_attention_heads": 8},
        {"hidden_size": 64, "num_attention_heads": 32},
        {"hidden_size": 64, "num_attention_heads": 128},
        {"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
         "pad_token_id": 50},
        {"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
         "pad_token_id": -1},
    )
] + [
    {"model_type": "gpt2", "n_layer": 1, "n_positions": 16, "vocab_size": 50, **geometry}
    for geometry in (
        {"n_embd": 64, "n_head": 4},
        {"n_embd": 100, "n_head": 3},
        {"n_embd": 99, "n_head": 3},
        {"n_embd": 64, "n_head": 128},
        {"n_embd": 64, "n_head": 4, "n_inner": 7},
        {"n_embd": 64, "n_head": 4, "n_inner": None},
    )
]


@pytest.mark.parametrize("cfg", GEOMETRY_CASES,
                         ids=lambda c: "-".join(f"{v}" for v in c.values() if v != 1))
def test_geometry_validated_as_transformers(transformers, cfg):
    """materialize refuses a config exactly when transformers cannot build and run it."""
    ok = transformers_accepts(transformers, cfg)
    if ok:
        assert [(p.name, p.shape) for p in fm.plan(cfg)] == \
            hf_expected_tensors(transformers, cfg)
    else:
        with pytest.raises(fm.SpecError):
            fm.plan(cfg)


# --- round trips through safetensors and transformers -----------------------------------------

def check_family_stats(cfg, tensors, params):
    """Per-tensor statistics against the family init (std within 6 standard errors)."""
    r = cfg.get("initializer_range", 0.02)
    for p in params:
        tag, arr = tensors[p.name]
        x = as_float(tag, arr)
        if p.name.endswith(("norm.weight", "ln_1.weight", "ln_2.weight", "ln_f.weight")):
            assert p.init == "ones" and (x == 1).all(), p.name
            continue
        if p.name.endswith(".bias"):
            assert p.init == "zeros" and (x == 0).all(), p.name
            assert storage_bits(arr).max() == 0, p.name   # +0.0, not -0.0
            continue
        want = r
        if cfg["model_type"] == "gpt2" and p.name.endswith("c_proj.weight"):
            want = r / math.sqrt(2 * cfg["n_layer"])          # GPT-2 scaled residual init
        assert p.init == "normal" and p.params == {"mean": 0.0, "std": want}, p
        if p.zero_rows:                                       # the padding row is zero
            assert (x[list(p.zero_rows)] == 0).all(), p.name
            x = np.delete(x, list(p.zero_rows), axis=0)
        n = x.size
        # sample std of n normals has relative standard error 1/sqrt(2n); bfloat16 rounding
        # adds well under 0.5 % on top
        assert abs(x.std() / want - 1) < 6 / math.sqrt(2 * n) + 0.005, (p.name, x.std(), want)
        assert abs(x.mean()) < 6 * want / math.sqrt(n), (p.name, x.mean())


@pytest.mark.parametrize("family", ["llama", "qwen2", "gpt2", "mistral"])
def test_hf_roundtrip(transformers, tmp_path, family):
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    cfg = FAMILY_CONFIGS[family]
    spec = write_json(tmp_path / "config.json", cfg)
    out = tmp_path / "ckpt"
    res = fm.materialize(spec, out, dtype="bfloat16", seed=SEED)
    assert sorted(os.listdir(out)) == ["config.json", "model.safetensors"]
    assert res.files == [str(out / "model.safetensors"), str(out / "config.json")]
    params = fm.plan(spec, dtype="bfloat16", seed=SEED)
    assert res.tensors == len(params)
    assert res.nbytes == sum(2 * math.prod(p.shape) for p in params)
    with open(out / "config.json") as f:
        written_cfg = json.load(f)
    assert written_cfg == dict(cfg, dtype="bfloat16", torch_dtype="bfloat16",
                               architectures=saved_architectures(transformers, cfg))

    # 1. the safetensors library
    sd = load_file(str(out / "model.safetensors"))
    assert set(sd) == {p.name for p in params}
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        assert f.metadata()["format"] == "pt"
        assert set(f.keys()) == {p.name for p in params}
        for p in params:
            t = f.get_tensor(p.name)
            assert t.dtype == torch.bfloat16 and tuple(t.shape) == p.shape
            assert torch.equal(t, sd[p.name])

    # 2. values: the in-memory fastinit result for the same seed and name
    tensors = read_bits(out)
    for p in params:
        got = tensors[p.name][1]
        want = family_reference(p, SEED, "bfloat16").copy()
        if p.zero_rows:
            want[list(p.zero_rows)] = 0
        np.testing.assert_array_equal(got, want, err_msg=p.name)
        assert np.array_equal(sd[p.name].view(torch.int16).numpy().view(np.uint16), got)
    check_family_stats(cfg, tensors, params)

    # 3. transformers: clean load, parameters equal the file
    model = load_clean(transformers, str(out))
    if int(transformers.__version__.split(".")[0]) >= 5:     # 4.x loads float32 by default
        assert model.dtype == torch.bfloat16
    state = model.state_dict()
    for p in params:                                  # bfloat16 -> float32 is exact
        assert torch.equal(state[p.name].to(torch.bfloat16), sd[p.name]), p.name
    if cfg.get("tie_word_embeddings", family == "gpt2"):
        emb = model.get_input_embeddings().weight
        assert model.get_output_embeddings().weight.data_ptr() == emb.data_ptr()
    with torch.no_grad():
        logits = model(torch.tensor([[1, 5, 7, 9]])).logits
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("family", ["llama", "qwen2", "gpt2", "mistral"])
@pytest.mark.parametrize("given", [None, ["SomeOtherModel"]], ids=["absent", "other"])
def test_config_architectures_as_save_pretrained(transformers, tmp_path, family, given):
    cfg = {k: v for k, v in FAMILY_CONFIGS[family].items() if k != "architectures"}
    if given is not None:
        cfg["architectures"] = given
    out = tmp_path / "ckpt"
    fm.materialize(write_json(tmp_path / "config.json", cfg), out)
    with open(out / "config.json") as f:
        written = json.load(f)
    want = saved_architectures(transformers, cfg)
    assert written["architectures"] == want
    assert {k: v for k, v in written.items() if k not in ("architectures", "dtype",
                                                          "torch_dtype")} == \
        {k: v for k, v in cfg.items() if k != "architectures"}


def test_sharded_roundtrip(transformers, tmp_path):
    import torch
    from safetensors.torch import load_file

    spec = write_json(tmp_path / "config.json", QWEN2)
    out = tmp_path / "sharded"
    res = fm.materialize(spec, out, dtype="float32", seed=SEED, max_shard_size="150KB")
    params = fm.plan(spec, dtype="float32", seed=SEED)
    shards = sorted(f for f in os.listdir(out) if f.endswith(".safetensors"))
    n = len(shards)
    assert n >= 3
    assert shards == [f"model-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1)]
    with open(out / "model.safetensors.index.json") as f:
        index = json.load(f)
    assert set(index["weight_map"]) == {p.name for p in params}
    assert set(index["weight_map"].values()) == set(shards)
    assert index["metadata"]["total_size"] == sum(4 * math.prod(p.shape) for p in params)
    assert index["metadata"]["total_parameters"] == sum(math.prod(p.shape) for p in params)
    # Hugging Face's split: in order, each shard <= the limit unless one tensor is larger
    sizes = {p.name: 4 * math.prod(p.shape) for p in params}
    order = [index["weight_map"][p.name] for p in params]
    assert order == sorted(order)
    for s in shards:
        names = [k for k, v in index["weight_map"].items() if v == s]
        assert len(names) == 1 or sum(sizes[k] for k in names) <= 150_000
        assert set(load_file(str(out / s))) == set(names)
    assert len(res.files) == n + 2

    model = load_clean(transformers, str(out))
    state = model.state_dict()
    for s in shards:
        for k, v in load_file(str(out / s)).items():
            assert torch.equal(state[k], v), k
    tensors = read_bits(out)
    for p in params:
        want = family_reference(p, SEED, "float32")
        np.testing.assert_array_equal(storage_bits(tensors[p.name][1]), want,
                                      err_msg=p.name)

    # the same checkpoint unsharded holds the same values
    single = tmp_path / "single.safetensors"
    fm.materialize(spec, single, dtype="float32", seed=SEED)
    one = read_bits(single)
    assert set(one) == set(tensors)
    for k in one:
        np.testing.assert_array_equal(one[k][1], tensors[k][1])


# --- values: equal to the in-memory fastinit result, whatever the slab size --------------------

SPEC = {
    "format": "fastinit.tensors/1",
    "dtype": "float32",
    "seed": 7,
    "metadata": {"note": "test"},
    "tensors": {
        "emb": {"shape": [300, 40], "init": "normal(std=0.02)", "dtype": "bfloat16"},
        "w1": {"shape": [2, 3, 70, 5], "init": "uniform", "params": {"low": -0.1, "high": 0.3}},
        "w2": {"shape": [33, 17], "init": "truncated_normal(mean=0.5, std=2.0, lower=-1, "
                                          "upper=3)", "dtype": "float16"},
        "w3": {"shape": [1, 5000], "init": "random", "dtype": "float64"},
        "b": {"shape": [17], "init": "zeros"},
        "g": {"shape": [17], "init": "ones", "dtype": "bfloat16"},
        "c": {"shape": [4, 4], "init": "constant(value=0.1)", "dtype": "bfloat16"},
        "c16": {"shape": [3], "init": "constant", "params": {"value": -2.5}, "dtype": "float16"},
        "scalar": {"shape": [], "init": "normal"},
        "empty": {"shape": [0, 8], "init": "normal"},
    },
}


def reference_tensor(name, t, seed, default_dtype="float32"):
    dtype = t.get("dtype", default_dtype)
    init, params = fm.parse_init(t["init"])
    params.update(t.get("params", {}))
    shape = tuple(t["shape"])
    if init in ("zeros", "ones", "constant"):
        value = {"zeros": 0.0, "ones": 1.0}.get(init, params.get("value"))
        if dtype == "bfloat16":
            import ml_dtypes
            return np.full(shape, value, np.float32).astype(ml_dtypes.bfloat16)
        return np.full(shape, value, dtype)
    return getattr(fastinit, init)(shape, **params, dtype=dtype,
                                   rng=fastinit.seed_for(seed, name))


@pytest.mark.parametrize("slab_bytes", [None, 8, 64, 1000])
def test_values_equal_in_memory_fill(tmp_path, slab_bytes):
    pytest.importorskip("ml_dtypes")
    spec = write_json(tmp_path / "spec.json", SPEC)
    out = tmp_path / "t.safetensors"
    fm.materialize(spec, out, slab_bytes=slab_bytes, threads=2)
    got = read_bits(out)
    assert set(got) == set(SPEC["tensors"])
    header, _ = read_header(out)
    assert header["__metadata__"] == {"format": "pt", "note": "test"}
    for name, t in SPEC["tensors"].items():
        want = reference_tensor(name, t, seed=7)
        assert got[name][1].shape == want.shape, name
        assert np.array_equal(storage_bits(got[name][1]), storage_bits(want)), name
        tag = {"float32": "F32", "bfloat16": "BF16", "float16": "F16", "float64": "F64"}
        assert got[name][0] == tag[t.get("dtype", "float32")]


def test_seed_and_dtype_arguments(tmp_path):
    spec = write_json(tmp_path / "spec.json", SPEC)
    fm.materialize(spec, tmp_path / "a.safetensors", seed=99, dtype="float16")
    got = read_bits(tmp_path / "a.safetensors")
    # --dtype sets the default; a tensor's own dtype wins
    assert got["b"][0] == "F16" and got["emb"][0] == "BF16"
    want = fastinit.uniform((2, 3, 70, 5), -0.1, 0.3, dtype="float16",
                            rng=fastinit.seed_for(99, "w1"))
    assert np.array_equal(storage_bits(got["w1"][1]), storage_bits(want))


def test_file_layout_is_aligned_and_contiguous(tmp_path):
    spec = write_json(tmp_path / "spec.json", SPEC)
    out = tmp_path / "t.safetensors"
    fm.materialize(spec, out)
    header, start = read_header(out)
    assert start % 8 == 0
    regions = sorted((e["data_offsets"], e["dtype"]) for k, e in header.items()
                     if k != "__metadata__")
    pos = 0
    for (a, b), tag in regions:
        assert a == pos
        assert a % {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}[tag] == 0
        pos = b
    assert start + pos == os.path.getsize(out)


# --- overrides ---------------------------------------------------------------------------------

def test_overrides(tmp_path):
    spec = write_json(tmp_path / "config.json", LLAMA)
    out = tmp_path / "o.safetensors"
    overrides = ["*.mlp.down_proj.weight=normal(std=0.001)",
                 "re:model\\.layers\\.1\\..*_proj\\.weight=uniform(low=-0.5, high=0.5)",
                 "model.embed_tokens.weight=truncated_normal(std=0.1)",
                 "*.input_layernorm.weight=constant(value=0.5)"]
    fm.materialize(spec, out, dtype="float32", seed=SEED, overrides=overrides)
    got = read_bits(out)
    params = {p.name: p for p in fm.plan(spec, seed=SEED, overrides=overrides)}
    # later overrides win: layer 1's down_proj is uniform, layer 0's is the narrow normal
    p = params["model.layers.0.mlp.down_proj.weight"]
    assert (p.init, p.params) == ("normal", {"std": 0.001})
    assert np.array_equal(got[p.name][1], fastinit.normal(
        p.shape, std=0.001, rng=fastinit.seed_for(SEED, p.name)))
    p = params["model.layers.1.mlp.down_proj.weight"]
    assert np.array_equal(got[p.name][1], fastinit.uniform(
        p.shape, -0.5, 0.5, rng=fastinit.seed_for(SEED, p.name)))
    # an override replaces the whole init: no padding row zeroed any more
    p = params["model.embed_tokens.weight"]
    assert p.zero_rows == ()
    assert np.array_equal(got[p.name][1], fastinit.truncated_normal(
        p.shape, std=0.1, rng=fastinit.seed_for(SEED, p.name)))
    assert (got["model.layers.0.input_layernorm.weight"][1] == np.float32(0.5)).all()
    assert (got["model.layers.0.post_attention_layernorm.weight"][1] == 1).all()
    # dict form and (name, params) pairs
    q = fm.plan(spec, overrides={"lm_head.weight": ("normal", {"std": 0.5})})
    assert [(p.init, p.params) for p in q if p.name == "lm_head.weight"] == \
        [("normal", {"std": 0.5})]


def test_fastinit_initializer_by_name(tmp_path):
    from fastinit import initializers as inits
    doc = {"tensors": {"w": {"shape": [300, 200], "init": "xavier_uniform(gain=2.0)"},
                       "h": {"shape": [64, 32, 3], "init": "he_normal"}}}
    spec = write_json(tmp_path / "spec.json", doc)
    out = tmp_path / "x.safetensors"
    fm.materialize(spec, out, seed=3, slab_bytes=4096)
    got = read_bits(out)
    fn = getattr(fastinit, "xavier_uniform", inits.xavier_uniform)
    assert np.array_equal(got["w"][1], fn((300, 200), gain=2.0, rng=fastinit.seed_for(3, "w")))
    fn = getattr(fastinit, "he_normal", inits.he_normal)
    assert np.array_equal(got["h"][1], fn((64, 32, 3), rng=fastinit.seed_for(3, "h")))


# --- own spec: JSON and YAML ---------------------------------------------------------------------

YAML_SPEC = """\
format: fastinit.tensors/1
dtype: bfloat16
seed: 11
tensors:
  encoder.embed.weight:
    shape: [500, 32]
    init: normal(std=0.02)
  encoder.proj.weight:
    shape: [32, 32]
    init: uniform
    params: {low: -0.25, high: 0.25}
  encoder.proj.bias:
    shape: [32]
    init: zeros
    dtype: float32
  encoder.norm.weight:
    shape: [32]
    init: ones
"""


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_own_spec_roundtrip(tmp_path, fmt):
    yaml = pytest.importorskip("yaml")
    pytest.importorskip("ml_dtypes")
    doc = yaml.safe_load(YAML_SPEC)
    if fmt == "yaml":
        spec = tmp_path / "spec.yaml"
        spec.write_text(YAML_SPEC)
    else:
        spec = write_json(tmp_path / "spec.json", doc)
    out = tmp_path / "own"
    res = fm.materialize(spec, out)
    assert sorted(os.listdir(out)) == ["model.safetensors"]     # no config.json: not HF
    assert res.parameters == 500 * 32 + 32 * 32 + 32 + 32
    got = read_bits(out / "model.safetensors")
    for name, t in doc["tensors"].items():
        want = reference_tensor(name, t, seed=11, default_dtype="bfloat16")
        assert np.array_equal(storage_bits(got[name][1]), storage_bits(want)), name
    assert got["encoder.proj.bias"][0] == "F32" and got["encoder.norm.weight"][0] == "BF16"
    # the safetensors library reads it too
    st_torch = pytest.importorskip("safetensors.torch")
    pytest.importorskip("torch")
    sd = st_torch.load_file(str(out / "model.safetensors"))
    assert set(sd) == set(doc["tensors"])


def test_spec_from_dict_and_folder(tmp_path):
    a = fm.plan(SPEC)
    write_json(tmp_path / "config.json", LLAMA)
    b = fm.plan(tmp_path)                    # a folder holding config.json
    assert len(a) == len(SPEC["tensors"]) and b[0].name == "model.embed_tokens.weight"


# --- safety: malformed specs, interruptions, overwrite ------------------------------------------

BAD_SPECS = [
    ({"model_type": "bert", "hidden_size": 8}, "unsupported model_type"),
    ({"model_type": "llama", "hidden_size": 64}, "needs 'intermediate_size'"),
    (dict(LLAMA, hidden_size="64"), "must be an integer"),
    (dict(LLAMA, num_key_value_heads=3), "multiple of"),
    (dict(LLAMA, pad_token_id=5000), "pad_token_id"),
    (dict(LLAMA, initializer_range=-1.0), "initializer_range"),
    ({"hidden_size": 8}, "neither"),
    ({"tensors": {}}, "non-empty"),
    ({"tensors": {"w": {"shape": [2, -1], "init": "normal"}}}, "non-negative"),
    ({"tensors": {"w": {"shape": [2, 2]}}}, "needs 'init'"),
    ({"tensors": {"w": {"shape": [2, 2], "init": "gaussian"}}}, "unknown initializer"),
    ({"tensors": {"w": {"shape": [2, 2], "init": "seed_for"}}}, "unknown initializer"),
    ({"tensors": {"w": {"shape": [2, 2], "init": "normal(std=-1)"}}}, "std"),
    ({"tensors": {"w": {"shape": [2, 2], "init": "normal(sigma=1)"}}}, "sigma"),
    ({"tensors": {"w": {"shape": [2, 2], "init": "uniform(low=1, high=0)"}}}, "low"),
    ({"tensors": {"w": {"shape": [2, 2], "init": "normal(", "dtype": "float32"}}}, "parse"),
    ({"tensors": {"w": {"shape": [2, 2], "init": "normal", "dtype": "int8"}}}, "dtype"),
    ({"tensors": {"w": {"shape": [2, 2], "init": "normal", "std": 1}}}, "unknown key"),
    ({"tensors": {"w": {"shape": [2], "init": "constant(value=1e6)", "dtype": "float16"}}},
     "overflows"),
    ({"tensors": {"w": {"shape": [2], "init": "constant"}}}, "value"),
    ({"tensors": {"w": {"shape": [2], "init": "zeros(value=1)"}}}, "no parameters"),
    ({"tensors": {"w": {"shape": [2], "init": "normal"}}, "extra": 1}, "unknown top-level"),
    ({"tensors": {"w": {"shape": [2], "init": "normal"}}, "format": "v9"}, "format"),
    ({"model_type": "llama", "tensors": {}}, "both"),
]


@pytest.mark.parametrize("doc,match", BAD_SPECS, ids=[m for _, m in BAD_SPECS])
def test_malformed_spec_writes_nothing(tmp_path, doc, match):
    spec = write_json(tmp_path / "spec.json", doc)
    before = listing(tmp_path)
    for out in (tmp_path / "x.safetensors", tmp_path / "folder"):
        with pytest.raises(fm.SpecError, match=match):
            fm.materialize(spec, out)
    assert listing(tmp_path) == before
    assert fm.main([spec, "-o", str(tmp_path / "y.safetensors"), "-q"]) == 1
    assert listing(tmp_path) == before


def test_unparsable_files(tmp_path):
    before = listing(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    for name, match in [("bad.json", "not valid JSON"), ("list.json", "mapping"),
                        ("missing.json", "cannot read")]:
        with pytest.raises(fm.SpecError, match=match):
            fm.materialize(tmp_path / name, tmp_path / "o.safetensors")
    if pytest.importorskip("yaml"):
        (tmp_path / "bad.yaml").write_text("tensors: [unclosed")
        with pytest.raises(fm.SpecError, match="YAML"):
            fm.materialize(tmp_path / "bad.yaml", tmp_path / "o.safetensors")
    assert listing(tmp_path) - before <= {"bad.json", "list.json", "bad.yaml"}


DUPLICATE_SPECS = [
    ("spec.json", '{"tensors": {"a": {"shape": [4], "init": "zeros"}, '
                  '"a": {"shape": [8], "init": "ones"}}}', "'a'"),
    ("spec.json", '{"dtype": "float16", "tensors": {"a": {"shape": [4], "init": "zeros"}}, '
                  '"dtype": "float32"}', "'dtype'"),
    ("spec.json", '{"tensors": {"a": {"shape": [4], "init": "zeros", "shape": [5]}}}',
     "'shape'"),
    ("spec.yaml", "tensors:\n  a: {shape: [4], init: zeros}\n  a: {shape: [8], init: ones}\n",
     "'a'"),
    ("spec.yaml", "seed: 1\ntensors:\n  a: {shape: [4], init: zeros}\nseed: 2\n", "'seed'"),
    ("config.json", json.dumps(GPT2)[:-1] + ', "n_layer": 5}', "'n_layer'"),
]


@pytest.mark.parametrize("name,text,key", DUPLICATE_SPECS)
def test_duplicate_keys_are_errors(tmp_path, name, text, key):
    pytest.importorskip("yaml")
    spec = tmp_path / name
    spec.write_text(text)
    with pytest.raises(fm.SpecError, match=f"{key} appears twice"):
        fm.plan(spec)
    before = listing(tmp_path)
    assert fm.main([str(spec), "-o", str(tmp_path / "o")]) == 1
    assert listing(tmp_path) == before


def test_yaml_merge_keys_may_be_overridden(tmp_path):
    pytest.importorskip("yaml")
    spec = tmp_path / "spec.yaml"
    spec.write_text("tensors:\n  a: &t {shape: [4], init: zeros}\n"
                    "  b: {<<: *t, shape: [5]}\n")
    assert [(p.name, p.shape, p.init) for p in fm.plan(spec)] == \
        [("a", (4,), "zeros"), ("b", (5,), "zeros")]


@pytest.mark.parametrize("key", ["dtype", "torch_dtype"])
@pytest.mark.parametrize("value", ["float8_e4m3fn", "float8_e5m2", "int8", "complex64", 3])
def test_config_dtype_not_written_is_refused(tmp_path, key, value):
    cfg = dict(GPT2, **{key: value})
    spec = write_json(tmp_path / "config.json", cfg)
    with pytest.raises(fm.SpecError, match=f"config {key}.*{value!r}.*--dtype"):
        fm.plan(spec)
    with pytest.raises(fm.SpecError):
        fm.materialize(spec, tmp_path / "o")
    assert sorted(os.listdir(tmp_path)) == ["config.json"]
    # an explicit output dtype is fine, and the written config says what was written
    fm.materialize(spec, tmp_path / "o", dtype="bfloat16")
    written = json.loads((tmp_path / "o" / "config.json").read_text())
    assert written["dtype"] == written["torch_dtype"] == "bfloat16"
    assert {p.dtype for p in fm.plan(spec, dtype="float16")} == {"float16"}


def test_config_dtype_aliases_and_auto(tmp_path):
    assert {p.dtype for p in fm.plan(dict(GPT2, torch_dtype="bfloat16"))} == {"bfloat16"}
    assert {p.dtype for p in fm.plan(dict(GPT2, dtype="auto"))} == {"float32"}
    # transformers 5 reads dtype before torch_dtype
    assert {p.dtype for p in fm.plan(dict(GPT2, dtype="float16", torch_dtype="float8_e4m3fn"))} \
        == {"float16"}


def test_spec_metadata_cannot_replace_format(tmp_path):
    doc = {"metadata": {"format": "np", "note": "x"},
           "tensors": {"a": {"shape": [4], "init": "zeros"}}}
    with pytest.raises(fm.SpecError, match="format"):
        fm.plan(doc)
    with pytest.raises(fm.SpecError, match="format"):
        fm.materialize(doc, tmp_path / "a.safetensors")
    assert os.listdir(tmp_path) == []
    doc["metadata"]["format"] = "pt"                    # the same value is harmless
    fm.materialize(doc, tmp_path / "a.safetensors")
    header, _ = read_header(tmp_path / "a.safetensors")
    assert header["__metadata__"] == {"format": "pt", "note": "x"}


@pytest.mark.parametrize("extra,match", [
    (["--threads", "0"], "threads"),
    (["--threads", "-2"], "threads"),
    (["--max-shard-size", "0"], "size"),
    (["--max-shard-size", "5 parsecs"], "size"),
    (["--seed", "-1"], "seed"),
])
def test_dry_run_checks_every_option(tmp_path, capsys, extra, match):
    spec = write_json(tmp_path / "config.json", GPT2)
    before = listing(tmp_path)
    for dry in ([], ["--dry-run"]):
        assert fm.main([spec, "-o", str(tmp_path / "o"), "-q", *dry, *extra]) == 1, dry
        captured = capsys.readouterr()
        assert match in captured.err and captured.out == ""
    assert listing(tmp_path) == before


def test_dry_run_checks_the_output(tmp_path, capsys, monkeypatch):
    spec = write_json(tmp_path / "config.json", GPT2)
    single = str(tmp_path / "m.safetensors")
    assert fm.main([spec, "-o", single, "--dry-run", "--max-shard-size", "1GB"]) == 1
    assert "folder" in capsys.readouterr().err
    assert fm.main([spec, "-o", str(tmp_path / "no" / "o"), "--dry-run"]) == 1
    capsys.readouterr()
    fm.materialize(spec, single)
    before = {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)}
    assert fm.main([spec, "-o", single, "--dry-run"]) == 1
    assert "--force" in capsys.readouterr().err
    assert fm.main([spec, "-o", single, "--dry-run", "--force"]) == 0
    assert capsys.readouterr().out.startswith("transformer.wte.weight")
    import shutil
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=1000))
    assert fm.main([spec, "-o", str(tmp_path / "big"), "--dry-run"]) == 1
    assert "disk space" in capsys.readouterr().err
    assert {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)} == before


def test_dry_run_python_api(tmp_path):
    spec = write_json(tmp_path / "config.json", GPT2)
    res = fm.materialize(spec, tmp_path / "o", dry_run=True, max_shard_size="200KB")
    assert sorted(os.listdir(tmp_path)) == ["config.json"]
    assert res.files[-2:] == [str(tmp_path / "o" / "model.safetensors.index.json"),
                              str(tmp_path / "o" / "config.json")]
    assert [p.name for p in res.params] == [p.name for p in fm.plan(spec)]
    real = fm.materialize(spec, tmp_path / "o", max_shard_size="200KB")
    assert real.files == res.files and real.nbytes == res.nbytes


@pytest.mark.parametrize("kw,exc", [
    ({"force": "no"}, TypeError), ({"force": 1}, TypeError), ({"dry_run": "yes"}, TypeError),
    ({"progress": 5}, TypeError), ({"slab_bytes": 4096.5}, TypeError),
    ({"slab_bytes": True}, TypeError), ({"slab_bytes": 4}, ValueError),
    ({"threads": 0}, ValueError), ({"threads": 1.5}, TypeError),
])
def test_python_arguments_are_checked(tmp_path, kw, exc):
    spec = write_json(tmp_path / "config.json", GPT2)
    name = next(iter(kw))
    with pytest.raises(exc, match=name):
        fm.materialize(spec, tmp_path / "o", **kw)
    assert sorted(os.listdir(tmp_path)) == ["config.json"]


def test_bad_overrides(tmp_path):
    spec = write_json(tmp_path / "config.json", LLAMA)
    for ov, match in [(["*.nothing=normal"], "matches no tensor"),
                      (["no-equals-sign"], "PATTERN=INIT"),
                      (["re:(=normal"], "regular expression"),
                      (["*.weight=normal(std=x)"], "literal"),
                      (["*.weight=normal(std=-2)"], "std")]:
        with pytest.raises(fm.SpecError, match=match):
            fm.materialize(spec, tmp_path / "o", overrides=ov)
    assert sorted(os.listdir(tmp_path)) == ["config.json"]


def _failing_normal(monkeypatch, exc, after):
    """Make fastinit.normal raise `exc` on its `after`-th real fill (dry runs pass)."""
    real = fastinit.normal
    calls = {"n": 0}

    @functools.wraps(real)
    def normal(*args, out=None, **kw):
        if out is not None and np.asarray(out).size:
            calls["n"] += 1
            if calls["n"] > after:
                raise exc
        return real(*args, out=out, **kw)

    monkeypatch.setattr(fastinit, "normal", normal)
    return calls


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()],
                         ids=["exception", "ctrl-c"])
@pytest.mark.parametrize("target", ["file", "folder", "sharded"])
def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch, exc, target):
    spec = write_json(tmp_path / "config.json", LLAMA)
    out = tmp_path / ("o.safetensors" if target == "file" else "o")
    kw = {"max_shard_size": "100KB"} if target == "sharded" else {}
    calls = _failing_normal(monkeypatch, exc, after=5)
    before = listing(tmp_path)
    with pytest.raises(type(exc)):
        fm.materialize(spec, out, slab_bytes=4096, **kw)
    assert calls["n"] == 6
    assert listing(tmp_path) == before
    assert not os.path.lexists(out)


def test_interrupted_force_keeps_old_checkpoint(tmp_path, monkeypatch):
    spec = write_json(tmp_path / "config.json", LLAMA)
    out = tmp_path / "o"
    fm.materialize(spec, out, seed=1, max_shard_size="100KB")
    (out / "tokenizer.json").write_text("{}")
    before = {f: (out / f).read_bytes() for f in os.listdir(out)}
    _failing_normal(monkeypatch, KeyboardInterrupt(), after=3)
    with pytest.raises(KeyboardInterrupt):
        fm.materialize(spec, out, seed=2, force=True)
    assert {f: (out / f).read_bytes() for f in os.listdir(out)} == before
    assert no_temp_files(tmp_path)


def test_cli_interrupt_exit_status(tmp_path, monkeypatch, capsys):
    spec = write_json(tmp_path / "config.json", LLAMA)
    _failing_normal(monkeypatch, KeyboardInterrupt(), after=2)
    assert fm.main([spec, "-o", str(tmp_path / "o.safetensors")]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["config.json"]


def test_force_semantics(tmp_path, capsys):
    spec = write_json(tmp_path / "config.json", LLAMA)
    f = tmp_path / "m.safetensors"
    assert fm.main([spec, "-o", str(f), "-q", "--seed", "1"]) == 0
    first = f.read_bytes()
    with pytest.raises(FileExistsError):
        fm.materialize(spec, f, seed=2)
    assert fm.main([spec, "-o", str(f), "-q", "--seed", "2"]) == 1
    assert "--force" in capsys.readouterr().err
    assert f.read_bytes() == first
    assert fm.main([spec, "-o", str(f), "-q", "--seed", "2", "--force"]) == 0
    assert f.read_bytes() != first and len(f.read_bytes()) == len(first)

    # a folder: other files are kept, the old checkpoint's shards are replaced/removed
    d = tmp_path / "d"
    d.mkdir()
    (d / "tokenizer.json").write_text("{}")
    fm.materialize(spec, d, max_shard_size="100KB")      # no clash: tokenizer only
    shards = {x for x in os.listdir(d) if x.startswith("model-")}
    assert len(shards) >= 3
    with pytest.raises(FileExistsError, match="force"):
        fm.materialize(spec, d)
    fm.materialize(spec, d, force=True)                   # one shard now
    assert sorted(os.listdir(d)) == ["config.json", "model.safetensors", "tokenizer.json"]
    fm.materialize(spec, d, force=True, max_shard_size="100KB")
    assert {x for x in os.listdir(d) if x.startswith("model")} == \
        shards | {"model.safetensors.index.json"}
    assert no_temp_files(tmp_path)
    with pytest.raises(NotADirectoryError):
        fm.materialize(spec, tmp_path / "m.safetensors" / "sub", force=True)


def test_disk_space_checked_up_front(tmp_path, monkeypatch):
    spec = write_json(tmp_path / "config.json", LLAMA)
    import shutil
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage",
                        lambda p: real(p)._replace(free=1000))
    with pytest.raises(OSError, match="disk space"):
        fm.materialize(spec, tmp_path / "o")
    assert sorted(os.listdir(tmp_path)) == ["config.json"]


def test_output_arguments(tmp_path):
    spec = write_json(tmp_path / "config.json", LLAMA)
    with pytest.raises(fm.SpecError, match="folder"):
        fm.materialize(spec, tmp_path / "o.safetensors", max_shard_size="1GB")
    with pytest.raises(FileNotFoundError):
        fm.materialize(spec, tmp_path / "no" / "such" / "o")
    with pytest.raises(ValueError):
        fm.materialize(spec, tmp_path / "o", max_shard_size="5 parsecs")
    assert sorted(os.listdir(tmp_path)) == ["config.json"]


def test_parse_size_and_init():
    assert fm.parse_size("5GB") == 5 * 10**9
    assert fm.parse_size("1.5GiB") == 3 * 2**29
    assert fm.parse_size("100KB") == 100_000
    assert fm.parse_size(123) == 123
    assert fm.parse_size("42") == 42
    for bad in ("0", "-1GB", "GB", "5XB"):
        with pytest.raises(ValueError):
            fm.parse_size(bad)
    assert fm.parse_init("normal") == ("normal", {})
    assert fm.parse_init(" truncated_normal(std=0.02, lower=-3, upper=3) ") == \
        ("truncated_normal", {"std": 0.02, "lower": -3, "upper": 3})
    for bad in ("normal(0.02)", "a.b(std=1)", "normal(**kw)", "1+2", ""):
        with pytest.raises(fm.SpecError):
            fm.parse_init(bad)


def test_cli(tmp_path, capsys):
    spec = write_json(tmp_path / "config.json", GPT2)
    out = tmp_path / "g"
    assert fm.main([spec, "-o", str(out), "--dtype", "float16", "--seed", "5",
                    "--max-shard-size", "200KB", "--override", "*.wpe.weight=zeros",
                    "--threads", "1"]) == 0
    err = capsys.readouterr().err
    assert "tensors" in err and "GB/s" in err and "wrote" in err
    got = read_bits(out)
    assert (got["transformer.wpe.weight"][1] == 0).all()
    assert got["transformer.wte.weight"][0] == "F16"
    want = fastinit.normal((1000, 64), std=0.02, dtype="float16",
                           rng=fastinit.seed_for(5, "transformer.wte.weight"))
    assert np.array_equal(got["transformer.wte.weight"][1], want)
    assert os.path.exists(out / "model.safetensors.index.json")
    assert json.load(open(out / "config.json"))["dtype"] == "float16"

    assert fm.main([spec, "-o", str(tmp_path / "q.safetensors"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert fm.main([spec, "-o", str(tmp_path / "dry"), "--dry-run"]) == 0
    outp = capsys.readouterr().out
    assert "transformer.h.1.mlp.c_proj.weight\t[256, 64]\tfloat32\tnormal(" in outp
    assert not os.path.exists(tmp_path / "dry")
    with pytest.raises(SystemExit):
        fm.main([spec])                                    # -o is required


def test_progress_callback(tmp_path):
    spec = write_json(tmp_path / "config.json", LLAMA)
    seen = []
    fm.materialize(spec, tmp_path / "p.safetensors", slab_bytes=8192,
                   progress=lambda *a: seen.append(a))
    n, total = len(fm.plan(spec)), fm.plan(spec)
    nbytes = sum(4 * math.prod(p.shape) for p in total)
    assert seen[-1] == (n, n, nbytes, nbytes)
    assert all(a[2] <= b[2] for a, b in zip(seen, seen[1:]))


# --- real processes: memory stays bounded, a real Ctrl-C cleans up -----------------------------

def _child(code):
    """`python -c code` importing the same fastinit as this test process (installed or not)."""
    env = dict(os.environ)
    home = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [home, env.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="Linux /proc")
def test_peak_memory_far_below_checkpoint(tmp_path):
    # 768 MiB of float32 in three tensors; peak RSS stays near the interpreter + one slab
    out = tmp_path / "big.safetensors"
    code = (
        "import fastinit.materialize as fm\n"
        "spec = {'tensors': {f't{i}': {'shape': [4096, 16384], 'init': 'normal(std=0.02)'}"
        " for i in range(3)}}\n"
        f"fm.materialize(spec, {str(out)!r})\n"
        # VmHWM: the peak RSS of this process image (ru_maxrss would also count the pages
        # of the forked pytest parent, which Linux carries across exec)
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
        "\n")
    p = _child(code)
    stdout, stderr = p.communicate(timeout=300)
    assert p.returncode == 0, stderr
    peak = int(stdout.split()[-1]) * 1024
    size = os.path.getsize(out)
    assert size > 3 * 2**28
    assert peak < 300 * 2**20 < size / 2, (peak, size)
    header, _ = read_header(out)
    assert set(header) == {"__metadata__", "t0", "t1", "t2"}


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or sys.platform == "win32",
                    reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_real_signal_removes_temporary_files(tmp_path, sig):
    spec = write_json(tmp_path / "spec.json", {"tensors": {
        f"t{i}": {"shape": [8192, 8192], "init": "truncated_normal"} for i in range(4)}})
    out = tmp_path / "o"
    p = _child("import sys, fastinit.materialize as fm; "
               f"sys.exit(fm.main([{spec!r}, '-o', {str(out)!r}, '--threads', '1']))")
    p.stderr.readline()                 # the first progress line: the fill is under way
    p.send_signal(getattr(signal, sig))
    _, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, f"exit {p.returncode} (did the 1 GiB run end before the signal?): {stderr}"
    assert "interrupted" in stderr
    assert sorted(os.listdir(tmp_path)) == ["spec.json"]
