"""Generate the whole Tekton catalog corpus; print the time per task and in total.

    .venv/bin/python bench/bench_generate.py [--repeat N] [--layout native|classic]

Offline: steps that need an image's entrypoint get it from an image map built from the corpus, so the
numbers measure the generator, not a network.  A second table times the image lookup against a real
docker-registry on loopback when it is installed: the first lookup of a tag, a lookup within the TTL
(served from the on-disk cache) and one after the TTL (one HEAD).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "generator")]

from corpus import images, load, tasks  # noqa: E402

from generator.errors import GenerateError  # noqa: E402
from generator.tekton.generating import GenerateOptions, generate  # noqa: E402


def corpus_table(repeat: int, layout: str) -> None:
    paths = tasks()
    with tempfile.TemporaryDirectory() as tmp:
        names = images(paths)
        for path in paths:
            names.update(load(path).params.values())
        image_map = Path(tmp) / "images.yaml"
        image_map.write_text(yaml.safe_dump({n: {"entrypoint": ["/tool"]} for n in names}))
        options = GenerateOptions(layout=layout, registry=None, image_map=str(image_map), name="bench")
        rows, total = [], 0.0
        for path in paths:
            task = load(path)
            times, outcome = [], "pod"
            for _ in range(repeat):
                start = time.perf_counter()
                try:
                    objects = generate(task.sources, task.params, options)
                    outcome = f"pod, {len(objects[0]['spec']['containers'])} containers"
                except GenerateError as exc:
                    outcome = "refused: " + str(exc).split(": ", 2)[-1][:40]
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            total += median
            rows.append((task.name, median * 1000, outcome))
    print(f"{'task':<40} {'ms (median of ' + str(repeat) + ')':>18}  outcome")
    for name, ms, outcome in rows:
        print(f"{name:<40} {ms:>18.2f}  {outcome}")
    print(f"{'TOTAL (' + str(len(rows)) + ' tasks)':<40} {total * 1000:>18.2f}")
    print(f"{'per task (mean)':<40} {total * 1000 / len(rows):>18.2f}")


def registry_table() -> None:
    import shutil
    if shutil.which("docker-registry") is None:
        print("\n(docker-registry not installed: registry lookup not benchmarked)")
        return
    import registries
    from generator.images.caching import Cache
    from generator.images.registry import RegistrySource

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        registries.htpasswd(work / "htpasswd")
        registry = registries.start_registry(work, work / "storage", {"htpasswd": {
            "realm": "bench", "path": str(work / "htpasswd")}})
        try:
            pusher = registries.Pusher(registry.host)
            amd = pusher.image("bench/tool", "amd", ["/amd"], None)
            arm = pusher.image("bench/tool", "arm", ["/arm"], None, arch="arm64")
            pusher.index("bench/tool", "1", [(amd, {"os": "linux", "architecture": "amd64"}),
                                             (arm, {"os": "linux", "architecture": "arm64"})])
            image = f"{registry.host}/bench/tool:1"

            async def once(ttl: float) -> tuple[float, int]:
                source = RegistrySource(Cache(str(work / "cache"), ttl), {registry.host: (registries.USER,
                                        registries.PASSWORD)}, (registry.host,), 5)
                start = time.perf_counter()
                await source.lookup(image)
                await source.close()
                return time.perf_counter() - start, len(source.requests)

            print(f"\n{'registry lookup (multi-arch tag)':<40} {'ms':>8} {'requests':>9}")
            for label, ttl in (("first lookup (cold cache)", 3600.0), ("again within the TTL", 3600.0),
                               ("after the TTL (HEAD only)", 0.0)):
                seconds, count = asyncio.run(once(ttl))
                print(f"{label:<40} {seconds * 1000:>8.2f} {count:>9}")
        finally:
            registry.process.terminate()
            registry.process.wait(5)


def main() -> None:
    logging.disable(logging.WARNING)  # the corpus's unbound workspaces warn; the tables are what matters
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--layout", choices=["native", "classic"], default="native")
    args = parser.parse_args()
    corpus_table(args.repeat, args.layout)
    registry_table()


if __name__ == "__main__":
    main()
