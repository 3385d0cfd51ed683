"""Run recipe runs as tasks with dependencies: inline, on local processes, or on Dask.

A run is submitted as soon as every run it depends on has succeeded; a run whose
dependency failed is not submitted (the caller records it ``blocked``). Tasks are pure
(:func:`qcservice.reduce.esorex.run_recipe`): a spec in, a result out, files on a
shared disk. The same specs give the same products whichever executor runs them.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import traceback
from collections.abc import Callable, Iterator

from qcservice.reduce.associate import RunSpec
from qcservice.reduce.esorex import RunResult, run_recipe


def safe_run(spec: RunSpec) -> RunResult:
    """:func:`run_recipe`, with any Python error turned into a failed result."""
    try:
        return run_recipe(spec)
    except Exception as exc:
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return RunResult(spec.run_key, "failed", message=f"{spec.recipe}: {detail}")


def execute(specs: list[RunSpec], workers: int = 1, scheduler: str | None = None,
            task: Callable[[RunSpec], RunResult] = safe_run) -> Iterator[RunResult]:
    """Results as runs finish. ``specs`` come in dependency order; ``depends`` names
    run_keys among them (others are taken as already done)."""
    if scheduler:
        from distributed import Client

        with Client(scheduler, timeout="30s") as client:
            yield from _drive(specs, lambda s: client.submit(task, s, pure=False,
                                                             key=f"reduce-{s.run_key}"),
                              _dask_wait)
    elif workers <= 1:
        yield from _drive(specs, lambda s: _done(task, s), _pool_wait)
    else:
        with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            yield from _drive(specs, lambda s: pool.submit(task, s), _pool_wait)


def _done(task: Callable[[RunSpec], RunResult], spec: RunSpec) -> cf.Future:
    """Run inline: a future that is already finished."""
    future: cf.Future = cf.Future()
    future.set_result(task(spec))
    return future


def _pool_wait(futures: set) -> set:
    return cf.wait(futures, return_when=cf.FIRST_COMPLETED).done


def _dask_wait(futures: set) -> set:
    from distributed import wait

    return set(wait(list(futures), return_when="FIRST_COMPLETED").done)


def _drive(specs: list[RunSpec], submit: Callable, wait: Callable) -> Iterator[RunResult]:
    keys = {s.run_key for s in specs}
    waiting = list(specs)
    ok: set[str] = set()
    dead: set[str] = set()
    running: dict = {}
    while waiting or running:
        still = []
        for spec in waiting:
            deps = [d for d in spec.depends if d in keys]
            if any(d in dead for d in deps):
                dead.add(spec.run_key)       # never submitted: the caller says why
            elif all(d in ok for d in deps):
                running[submit(spec)] = spec
            else:
                still.append(spec)
        waiting = still
        if not running:
            break
        for future in wait(set(running)):
            spec = running.pop(future)
            try:
                result = future.result()
            except Exception as exc:   # a worker died (killed, out of memory)
                result = RunResult(spec.run_key, "failed",
                                   message=f"{spec.recipe}: its worker died: "
                                           f"{type(exc).__name__}: {exc}")
            (ok if result.status == "ok" else dead).add(spec.run_key)
            yield result
