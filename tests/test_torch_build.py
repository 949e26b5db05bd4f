"""fastinit.torch.build: the values of patch(), one allocation, one batched fill, and an
ordinary model afterwards."""

import gc
import math
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402

import fastinit.torch as ft  # noqa: E402


def assert_same_model(a, b):
    pa, pb = dict(a.named_parameters(remove_duplicate=False)), \
        dict(b.named_parameters(remove_duplicate=False))
    assert pa.keys() == pb.keys()
    for k in pa:
        assert pa[k].dtype == pb[k].dtype, k
        assert torch.equal(pa[k].view(torch.uint8) if pa[k].dim() else pa[k],
                           pb[k].view(torch.uint8) if pb[k].dim() else pb[k]), k
    ba, bb = dict(a.named_buffers()), dict(b.named_buffers())
    assert ba.keys() == bb.keys()
    for k in ba:
        assert ba[k].dtype == bb[k].dtype and torch.equal(ba[k], bb[k]), k


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, 4)
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)


class GPT(nn.Module):
    def __init__(self, vocab=300, d=32, layers=2):
        super().__init__()
        self.wte = nn.Embedding(vocab, d, padding_idx=1)
        self.blocks = nn.ModuleList(Block(d) for _ in range(layers))
        self.bn = nn.BatchNorm1d(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.wte.weight           # tied


@pytest.mark.parametrize("dtype", [None, torch.float32, torch.bfloat16, torch.float16,
                                   torch.float64])
def test_same_values_as_patch(dtype):
    with ft.patch(rng=3), torch.device("cpu"):
        prev = torch.get_default_dtype()
        if dtype is not None:
            torch.set_default_dtype(dtype)
        try:
            ref = GPT()
        finally:
            torch.set_default_dtype(prev)
    got = ft.build(GPT, rng=3, dtype=dtype)
    assert_same_model(got, ref)
    assert got.head.weight is got.wte.weight
    assert (got.wte.weight[1] == 0).all()
    assert got.wte.weight.dtype == (dtype or torch.float32)


def test_same_values_as_patch_with_torch_seed():
    """rng=None: each fill's seed comes from torch's RNG, in the order patch() draws it."""
    torch.manual_seed(5)
    with ft.patch():
        ref = nn.TransformerEncoderLayer(64, 4)
    after_ref = torch.rand(3)
    torch.manual_seed(5)
    got = ft.build(nn.TransformerEncoderLayer, 64, 4)
    assert_same_model(got, ref)
    assert torch.equal(torch.rand(3), after_ref), "torch's RNG consumed differently"


def test_factory_kwargs_and_dtype_forwarding():
    got = ft.build(nn.Linear, 8, 16, bias=True, dtype=torch.bfloat16, rng=1)
    with ft.patch(rng=1):
        ref = nn.Linear(8, 16, bias=True, dtype=torch.bfloat16)
    assert_same_model(got, ref)


class Arith(nn.Module):
    """A custom init that does tensor arithmetic on what torch.nn.init wrote."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.empty(50, 40))
        self.b = nn.Parameter(torch.empty(50, 40))
        self.c = nn.Parameter(torch.empty(1000))
        self.d = nn.Parameter(torch.empty(30, 30))
        self.e = nn.Parameter(torch.empty(64))
        self.keep = None
        self.reset()

    def reset(self):
        nn.init.normal_(self.a, std=0.5)
        with torch.no_grad():
            self.a.mul_(2.0).add_(1.0)                  # arithmetic on a pending fill
        nn.init.uniform_(self.b)
        with torch.no_grad():
            self.b.copy_(self.a * 3)                    # reads a, overwrites b
        nn.init.normal_(self.c)
        self.c.data[:10] = 0                            # partial write through .data
        nn.init.xavier_uniform_(self.d)
        self.keep = self.d[0]                           # a view kept by the module
        nn.init.normal_(self.e)
        self.scale = float(self.e.detach().sum())       # a read


def test_arithmetic_in_custom_init_gives_patch_values():
    with ft.patch(rng=9):
        ref = Arith()
    got = ft.build(Arith, rng=9)
    assert_same_model(got, ref)
    assert got.scale == ref.scale
    assert torch.equal(got.keep, ref.keep)
    # the kept view still aliases the parameter
    with torch.no_grad():
        got.d[0, 0] = 123.0
    assert got.keep[0] == 123.0


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Big(nn.Module):
    def __init__(self):
        super().__init__()
        self.big = nn.Linear(4096, 4096, bias=False)          # 64 MiB
        self.small = nn.ModuleList(nn.Linear(64, 64) for _ in range(20))


def test_one_allocation_and_freeing_one_parameter():
    model = ft.build(Big, rng=0)
    params = list(model.parameters())
    starts = [p.data_ptr() for p in params]
    ends = [p.data_ptr() + p.numel() * p.element_size() for p in params]
    total = sum(p.numel() * p.element_size() for p in params)
    # one mapping holds them all (page alignment of the large one is the only slack)
    assert max(ends) - min(starts) < total + 2 * 4096 + 64 * len(params)
    # ... each with a storage of its own
    assert len({p.untyped_storage().data_ptr() for p in params}) == len(params)
    with ft.patch(rng=0):
        ref = Big()
    assert_same_model(model, ref)
    del ref, params
    gc.collect()
    before = _rss()
    model.big.weight = None
    gc.collect()
    assert before - _rss() > 48 << 20, "freeing the parameter did not return its pages"
    out = model.small[0](torch.ones(2, 64))
    assert out.shape == (2, 64)


def test_training_state_dict_and_to():
    torch.manual_seed(0)
    model = ft.build(GPT, rng=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randint(0, 300, (4, 8))
    h = model.wte(x)
    for blk in model.blocks:
        h = h + blk.attn(blk.ln(h), blk.ln(h), blk.ln(h))[0]
        h = h + blk.proj(torch.relu(blk.fc(h)))
    loss = nn.functional.cross_entropy(model.head(h).flatten(0, 1), x.flatten())
    loss.backward()
    w0 = model.blocks[0].fc.weight.detach().clone()
    opt.step()
    assert not torch.equal(w0, model.blocks[0].fc.weight)
    sd = model.state_dict()
    fresh = GPT()
    fresh.load_state_dict(sd)
    assert_same_model(fresh, model)
    m64 = model.to(torch.float64)
    assert m64.blocks[0].fc.weight.dtype == torch.float64
    meta = model.to("meta")
    assert meta.blocks[0].fc.weight.is_meta


def test_bad_arguments():
    with pytest.raises(TypeError, match="factory"):
        ft.build(3)
    with pytest.raises(TypeError, match="dtype"):
        ft.build(GPT, dtype=torch.int32)
    with pytest.raises(ValueError, match="threads"):
        ft.build(GPT, threads=0)


def test_failing_factory_leaves_no_state():
    def boom():
        nn.Linear(4, 4)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        ft.build(boom, rng=0)
    assert not ft.patch.active()
    # later fills are immediate again
    t = torch.empty(10)
    ft.normal_(t, rng=1)
    assert torch.equal(t, ft.normal_(torch.empty(10), rng=1))


transformers = pytest.importorskip("transformers")


def _llama_cfg(**kw):
    return transformers.LlamaConfig(vocab_size=500, hidden_size=64, intermediate_size=128,
                                    num_hidden_layers=2, num_attention_heads=4,
                                    num_key_value_heads=2, **kw)


@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
@pytest.mark.parametrize("tied", [False, True])
def test_transformers_llama_from_config(dtype, tied):
    cfg = _llama_cfg(tie_word_embeddings=tied)
    kw = {} if dtype is None else {"dtype": dtype}
    with ft.patch(rng=4):
        ref = transformers.AutoModelForCausalLM.from_config(cfg, **kw)
    got = ft.build(transformers.AutoModelForCausalLM.from_config, cfg, rng=4, **kw)
    assert_same_model(got, ref)
    assert (got.lm_head.weight is got.model.embed_tokens.weight) == tied
    # the rotary inverse frequencies (a non-persistent buffer) are computed, not random
    inv = got.model.rotary_emb.inv_freq
    assert torch.equal(inv, ref.model.rotary_emb.inv_freq) and inv.max() == 1.0


def test_transformers_model_class_on_config_and_save_pretrained(tmp_path):
    cfg = transformers.GPT2Config(n_embd=64, n_layer=2, n_head=4, vocab_size=500,
                                  n_positions=64)
    with ft.patch(rng=2):
        prev = torch.get_default_dtype()
        torch.set_default_dtype(torch.bfloat16)
        try:
            ref = transformers.GPT2LMHeadModel(cfg)
        finally:
            torch.set_default_dtype(prev)
    got = ft.build(transformers.GPT2LMHeadModel, cfg, dtype=torch.bfloat16, rng=2)
    assert_same_model(got, ref)
    assert got.lm_head.weight is got.transformer.wte.weight
    got.save_pretrained(tmp_path)
    back = transformers.GPT2LMHeadModel.from_pretrained(tmp_path, dtype=torch.bfloat16)
    assert_same_model(back, got)
    ids = torch.randint(0, 500, (1, 6))
    loss = got(ids, labels=ids).loss
    loss.backward()
    assert math.isfinite(float(loss.detach()))
