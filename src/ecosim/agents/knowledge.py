"""Knowledge and need vectors: unit vectors biased toward a field's dimensions."""

from __future__ import annotations

import numpy as np

N_FIELDS = 4


def field_vectors(fields: np.ndarray, dims: int, rng: np.random.Generator) -> np.ndarray:
    """One unit vector per entry of ``fields``: Dirichlet weights, heavy on the field's own dims.

    Dimension ``d`` belongs to field ``d mod 4``; vectors of one field are close (high
    cosine), vectors of different fields far apart.
    """
    fields = np.asarray(fields)
    own = (np.arange(dims)[None, :] % N_FIELDS) == fields[:, None]
    alpha = np.where(own, 1.5, 0.15)
    vectors = rng.standard_gamma(alpha)
    vectors += 1e-12
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def blend(a: np.ndarray, b: np.ndarray, weight_a: float) -> np.ndarray:
    """Unit vectors ``weight_a·a + (1 − weight_a)·b``, renormalised."""
    mixed = weight_a * a + (1.0 - weight_a) * b
    return mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
