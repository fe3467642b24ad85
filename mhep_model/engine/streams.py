"""Keyed random streams and draws by inversion (spec section 9, common random numbers).

Every random quantity of a path comes from its own stream, keyed by (seed, contract and
case, kind, stage, band, month) and indexed by the path's number, never from a sequence
consumed in order. A stream is numpy's counter-based Philox generator: its key is the
stream's key and path ``p``'s uniform is its ``p``-th output, reached by advancing the
counter, so a path's draws depend neither on how many paths run nor on the block it falls
in, nor on any other stream. Whole people are drawn by inverting a distribution function
at one uniform (Poisson and binomial counts; a multinomial as successive conditional
binomials in the written order of its shares), so two variants of a case see the same
uniforms and a small change in a mean moves a count by a little: the paired difference of
two variants has a far smaller variance than either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

from mhep_model.engine.inputs import FloatArray, IntArray

KINDS = {
    "level": 1,
    "common_level": 2,
    "monthly": 3,
    "rate": 4,
    "referrals": 5,
    "cohort": 6,
    "split": 7,
    "lag": 8,
}
"""The kinds of random quantity (spec 9), each its own family of streams."""
SEARCH_MEAN = 256.0
"""Largest Poisson mean or binomial count inverted by stepping up from zero; larger ones
(rare: a heavy-tailed multiplier, a very large cohort) go through scipy's quantile
functions."""


def case_key(seed: int, key: int) -> int:
    """The first half of every stream key of one contract's case (``key``) in a run with
    ``seed``."""
    state = np.random.SeedSequence(seed, spawn_key=(key,)).generate_state(1, np.uint64)
    return int(state[0])


@dataclass(frozen=True)
class Streams:
    """The streams of the block of paths ``first .. first + paths - 1`` of one
    contract's case (``key`` from :func:`case_key`)."""

    key: int
    first: int
    paths: int

    def uniforms(
        self, kind: str, stage: int = 0, band: int = 0, month: int = 0, part: int = 0
    ) -> FloatArray:
        """``(paths,)`` uniforms in [0, 1): the block's outputs of one stream (``part``
        numbers the successive binomials of one multinomial draw)."""
        # kind 8 bits | stage 16 | band 8 | part 12 | month 20: no two streams share a word
        # within the format's limits (50 stages, 20 bands, 601 lag weights, 600 months)
        word = (KINDS[kind] << 56) | (stage << 40) | (band << 32) | (part << 20) | month
        gen = np.random.Philox(key=np.array([self.key, word], dtype=np.uint64))
        gen.advance(self.first // 4)  # Philox gives four outputs per counter step
        skip = self.first % 4
        drawn: FloatArray = np.random.Generator(gen).random(skip + self.paths)[skip:]
        return drawn

    def paths_from(self, start: int, paths: int) -> Streams:
        """The same streams for the block's paths ``start .. start + paths - 1`` alone
        (the same uniforms as theirs in the whole block)."""
        return Streams(self.key, self.first + start, paths)

    def by_month(
        self, kind: str, months: int, stage: int = 0, band: int = 0, part: int = 0
    ) -> FloatArray:
        """``(paths, months)``: a stream per month."""
        out = np.empty((self.paths, months))
        for m in range(months):
            out[:, m] = self.uniforms(kind, stage, band, m, part)
        return out


GAMMA_GRID = 65536
"""Points of the tabulated Gamma quantile function (between them, linear interpolation:
a relative error below 1e-6 away from the tails; the tails are computed exactly)."""
TAIL = 1.0 / 512


@lru_cache(maxsize=64)
def _gamma_table(shape: float) -> tuple[FloatArray, FloatArray]:
    u = np.linspace(TAIL, 1.0 - TAIL, GAMMA_GRID)
    return u, special.gammaincinv(shape, u) / shape


def gamma_inv(u: FloatArray, cv: float) -> FloatArray:
    """Gamma multipliers with mean 1 and coefficient of variation ``cv`` at quantiles
    ``u`` (1 when ``cv`` is 0): a monotone function of ``u``, tabulated once per shape."""
    if cv * cv <= 1e-12:  # no spread to speak of (and 1 / cv**2 would overflow)
        return np.ones(np.shape(u))
    shape = 1.0 / (cv * cv)
    grid, values = _gamma_table(shape)
    out: FloatArray = np.interp(u, grid, values)
    tails = (u < TAIL) | (u > 1.0 - TAIL)
    if tails.any():
        out[tails] = special.gammaincinv(shape, u[tails]) / shape
    return out


DENSE_SHARE = 0.1
"""Step every element together while more than this share is still searching; then only
those left (an indexed step costs several times a whole-array one)."""


def _step_up(
    u: FloatArray,
    pmf0: FloatArray,
    ratio: Callable[[FloatArray | float, IntArray | slice], FloatArray],
) -> FloatArray:
    """The least k with P(X <= k) >= u, stepping k = 0, 1, ... with P(X = 0) = ``pmf0`` and
    P(X = k + 1) = P(X = k) * ratio(k, index); stops where the probabilities run out
    (float rounding just below 1, or a binomial's count)."""
    k = np.zeros(u.shape)
    pmf = pmf0.copy()
    cdf = pmf0.copy()
    need = u > cdf
    step = 0.0
    while need.size and need.mean() > DENSE_SHARE:  # all step; those done keep their k
        pmf *= ratio(step, slice(None))
        need &= pmf > 0.0
        k += need
        cdf += pmf
        need &= u > cdf
        step += 1.0
    idx = np.flatnonzero(need)
    while idx.size:
        kk = k[idx]
        nxt: FloatArray = pmf[idx] * ratio(kk, idx)
        live = nxt > 0.0
        idx, kk, nxt = idx[live], kk[live], nxt[live]
        k[idx] = kk + 1.0
        pmf[idx] = nxt
        cdf[idx] += nxt
        idx = idx[u[idx] > cdf[idx]]
    return k


def _scipy_quantile(
    u: FloatArray,
    inverse: Callable[..., FloatArray],
    cdf: Callable[..., FloatArray],
    *args: FloatArray,
) -> FloatArray:
    """The least k with P(X <= k) >= u from scipy's continuous inverse and distribution
    function (as scipy.stats' quantiles do it)."""
    k = np.maximum(np.ceil(inverse(u, *args)), 0.0)
    below = np.maximum(k - 1.0, 0.0)
    return np.where((k > 0) & (cdf(below, *args) >= u), below, k)


def poisson_inv(u: FloatArray, mean: FloatArray) -> FloatArray:
    """Poisson(``mean``) counts at quantiles ``u`` (same shapes)."""
    shape = u.shape
    u, mean = u.ravel(), np.ascontiguousarray(mean, dtype=float).ravel()
    return _poisson_flat(u, mean).reshape(shape)


def _poisson_flat(u: FloatArray, mean: FloatArray) -> FloatArray:
    out = np.zeros(u.shape)
    big = mean > SEARCH_MEAN
    if big.any():
        out[big] = _scipy_quantile(
            u[big], lambda q, m: special.pdtrik(q, m), special.pdtr, mean[big]
        )
    small = ~big & (mean > 0.0)
    if small.any():
        m = mean[small]
        out[small] = _step_up(u[small], np.exp(-m), lambda k, i: m[i] / (k + 1.0))
    return out


def binomial_inv(u: FloatArray, n: FloatArray, p: FloatArray) -> FloatArray:
    """Binomial(``n``, ``p``) counts at quantiles ``u`` (same shapes; ``n`` whole)."""
    shape = u.shape
    flat = (np.ascontiguousarray(a, dtype=float).ravel() for a in (u, n, p))
    return _binomial_flat(*flat).reshape(shape)


def _binomial_flat(u: FloatArray, n: FloatArray, p: FloatArray) -> FloatArray:
    sure = p >= 1.0
    q = np.where(sure, 0.5, np.clip(p, 0.0, 1.0))  # p = 1 is n, set below
    pmf0 = (1.0 - q) ** n
    # a large count, or P(X = 0) below the smallest float (p near 1): scipy's functions
    big = (n > SEARCH_MEAN) | ((pmf0 == 0.0) & (n > 0))
    if not big.any():
        odds = q / (1.0 - q)
        k = _step_up(u, pmf0, lambda kk, i: (n[i] - kk) / (kk + 1.0) * odds[i])
        return np.where(sure, n, k)
    out = np.zeros(u.shape)
    small = ~big
    out[small] = _binomial_flat(u[small], n[small], p[small])
    live = big & (n * q > 1e-12) & ~sure  # below: a count of 0 to any precision
    whole = n[live].astype(np.int64)  # scipy's binomial functions take whole counts
    out[live] = _scipy_quantile(
        u[live], lambda x, nn, pp: special.bdtrik(x, nn, pp), special.bdtr, whole, q[live]
    )
    return np.where(sure, n, out)


def multinomial_inv(
    streams: Streams, kind: str, stage: int, band: int, n: FloatArray, shares: FloatArray
) -> FloatArray:
    """``n`` ``(P, T)`` divided among ``len(shares)`` parts ``(P, T, J)`` by successive
    conditional binomials in the order of ``shares``, part j's uniforms from stream
    (kind, stage, band, month, part j)."""
    parts = len(shares)
    out = np.zeros((*n.shape, parts))
    left = n.astype(np.float64)
    rest = float(np.sum(shares))
    for j in range(parts - 1):
        if shares[j] <= 0.0 or rest <= 0.0:
            continue
        share = min(float(shares[j]) / rest, 1.0)
        u = streams.by_month(kind, n.shape[1], stage, band, part=j)
        out[..., j] = binomial_inv(u, left, np.full(left.shape, share))
        left = left - out[..., j]
        rest -= float(shares[j])
    out[..., parts - 1] = left
    return out
