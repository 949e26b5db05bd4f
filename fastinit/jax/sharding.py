"""``out_sharding``: checking it as JAX does, and constraining a traced result to it."""

import jax


def _context_mesh():
    """The concrete mesh of ``jax.set_mesh`` (or of a legacy ``with mesh:``), else None."""
    get_mesh = getattr(jax.sharding, "get_mesh", None)
    if get_mesh is not None:
        mesh = get_mesh()
        if not mesh.empty:
            return mesh
    try:                                    # ``with Mesh(...):`` in older JAX
        from jax._src.mesh import thread_resources
        mesh = thread_resources.env.physical_mesh
        return None if mesh.empty else mesh
    except Exception:
        return None


def _check_sharding_type(out_sharding, api):
    if out_sharding is not None and not isinstance(
            out_sharding, (jax.sharding.PartitionSpec, jax.sharding.Sharding)):
        raise TypeError(f"`out_sharding` argument of {api} only supports instances of "
                        f"`jax.sharding.Sharding` (e.g. `NamedSharding`) or `PartitionSpec`. "
                        f"Got {out_sharding} of type: {type(out_sharding)}")


def _check_sharding(out_sharding, api):
    """A concrete ``jax.sharding.Sharding`` for `out_sharding`, or None."""
    if out_sharding is None:
        return None
    if isinstance(out_sharding, jax.sharding.PartitionSpec):
        mesh = _context_mesh()
        if mesh is None or mesh.empty:
            raise ValueError(
                "Using PartitionSpec when you are not under a mesh context is not allowed. "
                "Please pass a NamedSharding instance or enter into a mesh context via "
                f"`jax.set_mesh`. Got {out_sharding}")
        return jax.sharding.NamedSharding(mesh, out_sharding)
    if isinstance(out_sharding, jax.sharding.NamedSharding):
        if out_sharding.mesh.empty:
            return None
        if not isinstance(out_sharding.mesh, jax.sharding.Mesh):
            raise ValueError(f"`out_sharding` of {api} must be on a concrete "
                             f"jax.sharding.Mesh (devices), got an abstract mesh")
        return out_sharding
    _check_sharding_type(out_sharding, api)
    return out_sharding


def _constrain(out, out_sharding):
    """A traced array `out` with `out_sharding` applied (reshard on Explicit mesh axes)."""
    mesh = (out_sharding.mesh if isinstance(out_sharding, jax.sharding.NamedSharding)
            else jax.sharding.get_abstract_mesh())
    axis_type = getattr(jax.sharding, "AxisType", None)
    explicit = axis_type is not None and any(
        t == axis_type.Explicit for t in getattr(mesh, "axis_types", ()) or ())
    if explicit and hasattr(jax.sharding, "reshard"):
        return jax.sharding.reshard(out, out_sharding)
    return jax.lax.with_sharding_constraint(out, out_sharding)
