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

Submodules, in the order a run uses them:

* `spec`: reading the spec (JSON or YAML), initializer expressions, overrides, sizes, dtype
  and shape checks; `SpecError`, `Param`, `parse_init`, `parse_size`.
* `families`: the tensors of each supported Hugging Face family, with the family's own init.
* `planning`: the validated plan (`plan`): dtypes, seed, overrides, every tensor checked
  against its initializer; the shards, file names, headers, index and ``config.json``.
* `output`: checks on the output location before writing; moving the files into place after.
* `fill`: filling a shard's tensors in place, slab by slab or in batched runs.
* `safetensors`: the safetensors format: header layout, shard files mapped a region at a time.
* `atomic`: temporary names, stale-temporary cleanup, no-replace publishing, folder locks.
* `libc`: the libc calls the os module lacks (renameat2, sync_file_range), loaded with ctypes.
* `progress`: the progress line.
* `writing`: `materialize` and `Result`: the steps in order, and cleanup on failure.
* `cli`: ``fastinit materialize`` (`main`).

The documentation's ``fastinit materialize`` page (docs/materialize.md) has the spec schema and
the command line; the Performance page has the benchmark.
"""

from . import fill as _fill
from . import planning as _planning
from . import spec as _spec
from .cli import main
from .planning import plan
from .spec import SPEC_FORMAT, Param, SpecError, parse_init, parse_size
from .writing import Result, materialize

__all__ = ["materialize", "plan", "main", "parse_size", "parse_init", "Param", "Result",
           "SpecError", "SPEC_FORMAT"]

#: Output dtypes.
DTYPES = _spec.DTYPES
#: Bytes of one slab: tensors larger than this are filled (and mapped) a slab at a time.
SLAB_BYTES = _fill.SLAB_BYTES
DEFAULT_MAX_SHARD_SIZE = _planning.DEFAULT_MAX_SHARD_SIZE
