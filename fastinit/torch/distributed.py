"""DTensor support: where a rank's local shard sits in the global tensor.

`shard_block` maps a ``torch.distributed.tensor.DTensor``'s placements (Shard,
_StridedShard, Replicate; even or uneven) to pieces of the global index space, so each rank
writes its shard with fastinit's ``global_shape``/``index`` addressing. torch.distributed
is imported only for a DTensor (which means it is loaded already).
"""

import sys

import numpy as np


def _dtensor_type():
    mod = sys.modules.get("torch.distributed.tensor")
    if mod is None:
        return None
    return getattr(mod, "DTensor", None)


def _runs(idx):
    """Split a sorted global index array into (local_start, local_stop, global_start) runs."""
    if len(idx) == 0:
        return [(0, 0, 0)]
    cuts = np.flatnonzero(np.diff(idx) != 1) + 1
    starts = np.concatenate(([0], cuts))
    stops = np.concatenate((cuts, [len(idx)]))
    return [(int(a), int(b), int(idx[a])) for a, b in zip(starts, stops)]


def shard_block(tensor):
    """Where the local shard of a DTensor sits in the global tensor.

    Returns ``(global_shape, blocks)`` where each block is ``(local_index, global_index)``,
    two tuples of slices: ``tensor.to_local()[local_index]`` is
    ``full_tensor()[global_index]``. Shard placements give one block; ``_StridedShard``
    placements (FSDP2 combined with tensor parallelism) may give several. For a plain tensor:
    ``(shape, [((slice..), (slice..))])`` covering everything.

    Raises
    ------
    NotImplementedError
        For ``Partial`` placements (the local tensors are summands, not pieces).
    """
    shape = tuple(tensor.shape)
    dt = _dtensor_type()
    if dt is None or not isinstance(tensor, dt):
        full = tuple(slice(0, n) for n in shape)
        return shape, [(full, full)]
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor.placement_types import _StridedShard, _StridedShardOffsetMode
    mesh = tensor.device_mesh
    coord = mesh.get_coordinate()
    if coord is None:
        raise ValueError("this rank is not part of the DTensor's device mesh")
    idx = [np.arange(n, dtype=np.int64) for n in shape]
    for mdim, p in enumerate(tensor.placements):
        if isinstance(p, Replicate):
            continue
        if isinstance(p, _StridedShard):
            d = p.dim
            size, offs = p.local_shard_size_and_offset(len(idx[d]), mesh.size(mdim), coord[mdim],
                                                       _StridedShardOffsetMode.ALL)
            idx[d] = idx[d][np.asarray(offs if size else [], dtype=np.int64)]
        elif isinstance(p, Shard):
            d = p.dim
            size, start = Shard.local_shard_size_and_offset(len(idx[d]), mesh.size(mdim),
                                                            coord[mdim])
            idx[d] = idx[d][int(start):int(start) + int(size)]
        else:
            raise NotImplementedError(
                f"fastinit.torch fills DTensors with Shard or Replicate placements; got {p} "
                f"(a Partial DTensor's local tensors are summands, initialise the full value "
                f"and redistribute instead)")
    local_shape = tuple(len(i) for i in idx)
    if local_shape != tuple(tensor._local_tensor.shape):
        raise ValueError(f"DTensor local shape {tuple(tensor._local_tensor.shape)} does not "
                         f"match the shard {local_shape} its placements describe")
    per_dim = [_runs(i) for i in idx]
    blocks = []
    for combo in _product(per_dim):
        loc = tuple(slice(a, b) for a, b, _ in combo)
        glo = tuple(slice(g, g + (b - a)) for a, b, g in combo)
        blocks.append((loc, glo))
    return shape, blocks


def _product(lists):
    out = [()]
    for lst in lists:
        out = [o + (x,) for o in out for x in lst]
    return out
