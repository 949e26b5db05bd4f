"""Parameter tables of Hugging Face decoder families: names, shapes, tying and each family's init.

Each table lists the tensors ``save_pretrained`` writes for the ``*ForCausalLM`` /
``GPT2LMHeadModel`` class of a ``config.json``, in ``state_dict`` order, with the init the
model's ``_init_weights`` gives them (transformers 4.4x-5.x, checked against 5.24):

* LLaMA, Mistral, Qwen2 (``PreTrainedModel._init_weights``): every ``nn.Linear`` weight and
  the embedding ``normal(0, initializer_range)``; linear biases zero; RMSNorm weights one;
  the ``pad_token_id`` row of the embedding zero (``nn.Embedding(padding_idx=...)``).
  Qwen2 has biases on q/k/v (not o) and none in the MLP; LLaMA has them everywhere when
  ``attention_bias`` / ``mlp_bias`` say so; Mistral has none.
* GPT-2 (``GPT2PreTrainedModel._init_weights``): Conv1D weights (stored (in, out)) and both
  embeddings ``normal(0, initializer_range)``; the two residual projections ``attn.c_proj``
  and ``mlp.c_proj`` ``normal(0, initializer_range / sqrt(2 * n_layer))`` (the GPT-2 paper's
  scaled init); biases zero; LayerNorm weights one, biases zero.

``lm_head.weight`` is absent when ``tie_word_embeddings`` is true (the default for GPT-2 and
false for the others), exactly as ``save_pretrained`` drops tied parameters. Optional config
fields take the defaults of the transformers config classes (e.g. Mistral's
``num_key_value_heads`` is 8 when absent, Qwen2's 32); fields that fix the model's size must
be given. A geometry transformers cannot build or run is refused: LLaMA's ``hidden_size``
not a multiple of ``num_attention_heads`` (LlamaConfig's check), an odd head dimension
(rotary embeddings), heads not a multiple of the KV heads, GPT-2's ``n_embd`` not a
multiple of ``n_head``, a ``pad_token_id`` outside the vocabulary.
"""

import math
import operator

from .spec import Param, SpecError


def _get(cfg, key, default=None, *, required=False, kind="int", minimum=None):
    if key not in cfg or cfg[key] is None:
        if required:
            raise SpecError(f"config.json of model_type {cfg.get('model_type')!r} needs "
                            f"{key!r}")
        return default
    v = cfg[key]
    if kind == "int":
        if isinstance(v, bool):
            raise SpecError(f"config field {key!r} must be an integer, got {v!r}")
        try:
            v = operator.index(v)
        except TypeError:
            raise SpecError(f"config field {key!r} must be an integer, got {v!r}") from None
        if minimum is not None and v < minimum:
            raise SpecError(f"config field {key!r} must be >= {minimum}, got {v}")
    elif kind == "bool":
        if not isinstance(v, bool):
            raise SpecError(f"config field {key!r} must be true or false, got {v!r}")
    elif kind == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or v < 0:
            raise SpecError(f"config field {key!r} must be a finite non-negative number, "
                            f"got {v!r}")
        v = float(v)
    return v


def _std(cfg):
    # PreTrainedModel._init_weights: ``self.config.initializer_range or 0.02``
    return _get(cfg, "initializer_range", 0.02, kind="float") or 0.02


def _pad_rows(cfg, vocab):
    pad = _get(cfg, "pad_token_id", None)
    if pad is None:
        return ()
    if not -vocab <= pad < vocab:
        raise SpecError(f"pad_token_id {pad} is outside the vocabulary (vocab_size {vocab})")
    return (pad % vocab,)


def _llama_like(cfg, *, qkv_bias, o_bias, mlp_bias, kv_default, kv_null, heads_divide):
    """`kv_default`: num_key_value_heads when the field is absent (None: the head count);
    `kv_null`: when it is null, 'heads' (the head count) or 'error' (a strict int field);
    `heads_divide`: the config class requires hidden_size % num_attention_heads == 0."""
    hidden = _get(cfg, "hidden_size", required=True, minimum=1)
    inter = _get(cfg, "intermediate_size", required=True, minimum=1)
    layers = _get(cfg, "num_hidden_layers", required=True, minimum=0)
    heads = _get(cfg, "num_attention_heads", required=True, minimum=1)
    vocab = _get(cfg, "vocab_size", required=True, minimum=1)
    kv = _get(cfg, "num_key_value_heads", None, minimum=1)
    if kv is None:
        if "num_key_value_heads" in cfg and kv_null == "error":
            raise SpecError(f"config field 'num_key_value_heads' must be an integer for "
                            f"model_type {cfg['model_type']!r}, got null")
        kv = heads if kv_default is None or "num_key_value_heads" in cfg else kv_default
    if heads_divide and hidden % heads:
        raise SpecError(f"hidden_size ({hidden}) must be a multiple of num_attention_heads "
                        f"({heads})")
    head_dim = _get(cfg, "head_dim", None, minimum=1) or hidden // heads
    if head_dim < 1:
        raise SpecError(f"hidden_size {hidden} / num_attention_heads {heads} gives a head "
                        f"dimension of 0; set head_dim")
    if head_dim % 2:
        # rotary embeddings rotate pairs of channels: the attention cannot run
        how = "" if cfg.get("head_dim") else \
            f" (hidden_size {hidden} // num_attention_heads {heads})"
        raise SpecError(f"the head dimension {head_dim}{how} must be even for rotary "
                        f"position embeddings")
    if heads % kv:
        raise SpecError(f"num_attention_heads ({heads}) must be a multiple of "
                        f"num_key_value_heads ({kv})")
    tied = _get(cfg, "tie_word_embeddings", False, kind="bool")
    std = _std(cfg)
    w = {"mean": 0.0, "std": std}
    out = [Param("model.embed_tokens.weight", (vocab, hidden), "normal", dict(w),
                 zero_rows=_pad_rows(cfg, vocab))]

    def linear(name, n_out, n_in, bias):
        out.append(Param(name + ".weight", (n_out, n_in), "normal", dict(w)))
        if bias:
            out.append(Param(name + ".bias", (n_out,), "zeros"))

    for i in range(layers):
        p = f"model.layers.{i}."
        linear(p + "self_attn.q_proj", heads * head_dim, hidden, qkv_bias)
        linear(p + "self_attn.k_proj", kv * head_dim, hidden, qkv_bias)
        linear(p + "self_attn.v_proj", kv * head_dim, hidden, qkv_bias)
        linear(p + "self_attn.o_proj", hidden, heads * head_dim, o_bias)
        linear(p + "mlp.gate_proj", inter, hidden, mlp_bias)
        linear(p + "mlp.up_proj", inter, hidden, mlp_bias)
        linear(p + "mlp.down_proj", hidden, inter, mlp_bias)
        out.append(Param(p + "input_layernorm.weight", (hidden,), "ones"))
        out.append(Param(p + "post_attention_layernorm.weight", (hidden,), "ones"))
    out.append(Param("model.norm.weight", (hidden,), "ones"))
    if not tied:
        out.append(Param("lm_head.weight", (vocab, hidden), "normal", dict(w)))
    return out


def _llama(cfg):
    attn_bias = _get(cfg, "attention_bias", False, kind="bool")
    return _llama_like(cfg, qkv_bias=attn_bias, o_bias=attn_bias,
                       mlp_bias=_get(cfg, "mlp_bias", False, kind="bool"), kv_default=None,
                       kv_null="heads", heads_divide=True)


def _mistral(cfg):
    return _llama_like(cfg, qkv_bias=False, o_bias=False, mlp_bias=False, kv_default=8,
                       kv_null="error", heads_divide=False)


def _qwen2(cfg):
    # Qwen2Config's field default is 32 (not None), whatever num_attention_heads is
    return _llama_like(cfg, qkv_bias=True, o_bias=False, mlp_bias=False, kv_default=32,
                       kv_null="heads", heads_divide=False)


def _gpt2(cfg):
    embd = _get(cfg, "n_embd", required=True, minimum=1)
    layers = _get(cfg, "n_layer", required=True, minimum=0)
    heads = _get(cfg, "n_head", required=True, minimum=1)
    if embd % heads:
        raise SpecError(f"n_embd ({embd}) must be a multiple of n_head ({heads})")
    vocab = _get(cfg, "vocab_size", required=True, minimum=1)
    positions = _get(cfg, "n_positions", required=True, minimum=1)
    inner = _get(cfg, "n_inner", None, minimum=1) or 4 * embd
    if _get(cfg, "add_cross_attention", False, kind="bool"):
        raise SpecError("GPT-2 with add_cross_attention is an encoder-decoder layout; only "
                        "the decoder-only GPT2LMHeadModel is supported")
    tied = _get(cfg, "tie_word_embeddings", True, kind="bool")
    std = _std(cfg)
    w = {"mean": 0.0, "std": std}
    # GPT-2 paper: residual projections scaled by 1/sqrt(N), N = 2 residual paths per block
    proj = {"mean": 0.0, "std": std / math.sqrt(2 * layers) if layers else std}
    out = [Param("transformer.wte.weight", (vocab, embd), "normal", dict(w)),
           Param("transformer.wpe.weight", (positions, embd), "normal", dict(w))]

    def norm(name):
        out.append(Param(name + ".weight", (embd,), "ones"))
        out.append(Param(name + ".bias", (embd,), "zeros"))

    def conv1d(name, n_in, n_out, init):
        out.append(Param(name + ".weight", (n_in, n_out), "normal", dict(init)))
        out.append(Param(name + ".bias", (n_out,), "zeros"))

    for i in range(layers):
        p = f"transformer.h.{i}."
        norm(p + "ln_1")
        conv1d(p + "attn.c_attn", embd, 3 * embd, w)
        conv1d(p + "attn.c_proj", embd, embd, proj)
        norm(p + "ln_2")
        conv1d(p + "mlp.c_fc", embd, inner, w)
        conv1d(p + "mlp.c_proj", inner, embd, proj)
    norm("transformer.ln_f")
    if not tied:
        out.append(Param("lm_head.weight", (vocab, embd), "normal", dict(w)))
    return out


FAMILIES = {"llama": _llama, "mistral": _mistral, "qwen2": _qwen2, "gpt2": _gpt2}
#: The model class whose ``state_dict`` each table is; ``save_pretrained`` records it in
#: the config's ``architectures``.
ARCHITECTURES = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                 "qwen2": "Qwen2ForCausalLM", "gpt2": "GPT2LMHeadModel"}


def params_of_config(cfg):
    """The tensors ``save_pretrained`` would write for this config, with the family's init.

    Parameters
    ----------
    cfg : dict
        A parsed Hugging Face ``config.json`` with ``model_type`` one of `FAMILIES`.

    Returns
    -------
    list of Param
        In ``state_dict`` order; ``dtype`` left None.

    Raises
    ------
    SpecError
        Unknown ``model_type`` or a missing/invalid field.
    """
    mt = cfg.get("model_type")
    if mt not in FAMILIES:
        raise SpecError(f"unsupported model_type {mt!r}: materialize knows "
                        f"{', '.join(sorted(FAMILIES))} (or write a fastinit tensor spec)")
    return FAMILIES[mt](cfg)
