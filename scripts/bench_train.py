"""Benchmark tinycnn's paper CNN: training and inference throughput, a per-layer profile, peak memory.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python scripts/bench_train.py [--vs-torch] [--repeats 5]

Prints numbers only; nothing here is a test. The machine is shared and noisy, so every figure is the
median of several runs, and with --vs-torch the identical network in PyTorch (if torch is importable:
it is never a dependency of tinycnn) is timed in alternation with ours, so that noise hits both.
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE slow current numpy on some machines: unset them in the command.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from tinycnn.models import paper_cnn


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return "; ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')} {i['num_threads']} threads"
                     for i in threadpool_info() if i["user_api"] == "blas")


def median_seconds(run, repeats):
    run()  # warm-up: first-touch allocations, BLAS thread start-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(repeats):
    """numpy's own float32 matrix-multiply rate on this machine (2 * n^3 flops per n x n product)."""
    n = 1024
    a, b = (np.random.default_rng(0).random((n, n), dtype=np.float32) for _ in range(2))
    return 2 * n ** 3 / median_seconds(lambda: a @ b, repeats) / 1e9


def layer_flops(model):
    """Forward multiply-add flops (2 per multiply-add) per image for each layer with weights."""
    flops = {}
    for layer in model.layers:
        if "kernel" in layer.params:
            kernel = layer.params["kernel"]
            positions = np.prod(layer.output_shape[:-1]) if len(layer.output_shape) == 3 else 1
            flops[layer.name] = 2 * positions * kernel.size
    return flops


def batches(batch_size, steps, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size * steps, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, batch_size * steps)
    return [(x[i * batch_size:(i + 1) * batch_size], y[i * batch_size:(i + 1) * batch_size]) for i in range(steps)]


def tinycnn_trainer(batch_size, steps):
    model = paper_cnn(seed=0)
    model.compile("adam")
    data = batches(batch_size, steps)

    def run():
        for x, y in data:
            model.train_step(x, y)
    return run


def tinycnn_predictor(batch_size, total):
    model = paper_cnn(seed=0)
    x = np.random.default_rng(0).random((total, 28, 28, 1), dtype=np.float32)
    return lambda: model.predict(x, batch_size=batch_size)


def torch_network():
    import torch
    from torch import nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10)), torch


def torch_trainer(batch_size, steps):
    net, torch = torch_network()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    data = [(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y)) for x, y in batches(batch_size, steps)]

    def run():
        for x, y in data:
            optimizer.zero_grad()
            loss_fn(net(x), y).backward()
            optimizer.step()
    return run


def torch_predictor(batch_size, total):
    net, torch = torch_network()
    x = torch.from_numpy(np.random.default_rng(0).random((total, 1, 28, 28), dtype=np.float32))

    def run():
        with torch.no_grad():
            for i in range(0, total, batch_size):
                torch.softmax(net(x[i:i + batch_size]), dim=1)
    return run


def profile_layers(batch_size, repeats):
    """Median forward and backward milliseconds per batch of each layer, over `repeats` steps."""
    model = paper_cnn(seed=0)
    model.compile("adam")
    x, y = batches(batch_size, 1)[0]
    times = {layer.name: ([], []) for layer in model.layers}
    for _ in range(repeats + 1):
        h = x
        for layer in model.layers:
            start = time.perf_counter()
            h = layer.forward(h, training=True)
            times[layer.name][0].append(time.perf_counter() - start)
        d = model.loss.gradient_wrt_logits(y, h)
        for i, layer in enumerate(reversed(model.layers)):
            start = time.perf_counter()
            d = layer.backward(d, skip_activation=(i == 0))
            times[layer.name][1].append(time.perf_counter() - start)
    return model, {name: (statistics.median(f[1:]) * 1000, statistics.median(b[1:]) * 1000) for name, (f, b) in times.items()}


def peak_rss_of_training(steps):
    """Peak resident memory (MB) of a fresh process that loads MNIST and trains `steps` steps at batch 32."""
    code = ("import resource; from tinycnn.train import prepare_images; from tinycnn.datasets import mnist; "
            "from tinycnn.models import paper_cnn; (x, y), _ = mnist.load_data(); x = prepare_images(x); "
            "m = paper_cnn(seed=0); m.compile('adam'); "
            f"[m.train_step(x[i * 32:(i + 1) * 32], y[i * 32:(i + 1) * 32]) for i in range({steps})]; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode != 0:
        return f"failed: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}"
    return f"{int(result.stdout.split()[-1]) / 1024:.0f} MB"


def compare(name, ours, theirs, images, repeats, vs_torch):
    """Time ours (and theirs, alternately) and print images/s and the ratio."""
    runs = [(ours, [])] + ([(theirs, [])] if vs_torch else [])
    for run, _ in runs:
        run()  # warm-up
    for _ in range(repeats):
        for run, times in runs:
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    ours_rate = images / statistics.median(runs[0][1])
    line = f"{name:<28} tinycnn {ours_rate:9,.0f} images/s"
    result = {"tinycnn": ours_rate}
    if vs_torch:
        theirs_rate = images / statistics.median(runs[1][1])
        line += f"   torch {theirs_rate:9,.0f} images/s   ratio {ours_rate / theirs_rate:.2f}x"
        result["torch"] = theirs_rate
    print(line, flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vs-torch", action="store_true", help="also time the same network in PyTorch")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement; the median is shown")
    parser.add_argument("--steps", type=int, default=100, help="training steps per timed run")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.vs_torch:
        import torch
        torch.set_num_threads(os.cpu_count())
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"numpy {np.__version__}; BLAS: {blas_info()}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}")
    gflops = matmul_gflops(args.repeats)
    print(f"numpy float32 matmul (1024x1024): {gflops:.0f} GFLOP/s\n")
    results = {"matmul_gflops": gflops}
    for batch_size in (32, 128):
        steps = max(args.steps * 32 // batch_size, 10)
        results[f"train_b{batch_size}"] = compare(
            f"training, batch {batch_size}", tinycnn_trainer(batch_size, steps),
            torch_trainer(batch_size, steps) if args.vs_torch else None, batch_size * steps, args.repeats, args.vs_torch)
    for batch_size, total in ((1, 200), (1000, 10000)):
        results[f"infer_b{batch_size}"] = compare(
            f"inference, batch {batch_size}", tinycnn_predictor(batch_size, total),
            torch_predictor(batch_size, total) if args.vs_torch else None, total, args.repeats, args.vs_torch)

    model, layer_ms = profile_layers(32, max(args.steps, 20))
    flops = layer_flops(model)
    step_ms = sum(f + b for f, b in layer_ms.values())
    print(f"\nper layer, batch 32 (median of {max(args.steps, 20)} steps; backward of conv2d skips dL/dx):")
    print(f"{'layer':<16}{'fwd ms':>8}{'bwd ms':>8}{'fwd GFLOP/s':>13}{'bwd GFLOP/s':>13}{'share':>7}")
    for i, (name, (fwd, bwd)) in enumerate(layer_ms.items()):
        forward_flops = flops.get(name, 0) * 32
        backward_flops = forward_flops * (1 if i == 0 else 2)
        rate = (lambda work, ms: f"{work / ms / 1e6:13.0f}" if work else f"{'-':>13}")
        print(f"{name:<16}{fwd:8.2f}{bwd:8.2f}{rate(forward_flops, fwd)}{rate(backward_flops, bwd)}"
              f"{(fwd + bwd) / step_ms:7.0%}")
    print(f"{'sum of layers':<16}{step_ms:16.2f} ms per step (Adam and Python bookkeeping not included)")
    results["layers_ms"] = layer_ms
    rss = peak_rss_of_training(300)
    print(f"\npeak RSS of a training run (MNIST loaded, 300 steps at batch 32): {rss}")
    results["peak_rss"] = rss
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
