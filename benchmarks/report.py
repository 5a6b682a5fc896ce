"""Turn a pytest-benchmark JSON file into markdown tables of medians and ratios, and a time-vs-size plot.

    python benchmarks/report.py outputs/bench/raw.json --out outputs/bench [--docs docs/_static/bench]

Writes ``report.md`` (statistics forward and forward+backward vs the bare FFT floor and PyMKS, losses vs
``torch.nn.functional.mse_loss``, peak memory of the losses) and ``time_vs_size.png`` (log-log, with an
``N log N`` reference line) under ``--out``. ``--docs`` also writes ``report.rst`` and the plot there, for the
documentation's benchmarks page.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

STATISTICS_KEY = ("pass", "dims", "size", "batch", "channels", "periodic", "cutoff_mode", "dtype", "device")
PYMKS_KEY = ("dims", "size", "batch", "phases", "periodic", "cutoff_mode", "dtype")
LOSS_KEY = ("pass", "batch", "size", "device")
STATISTIC = "median"  # or "min" (--statistic): on a shared, busy machine the minimum is the steadier estimate


def describe_run(path: Path) -> str:
    """One line on where and how the run was measured, from pytest-benchmark's machine and commit info."""
    document = json.loads(Path(path).read_text())
    machine = document.get("machine_info", {})
    commit = document.get("commit_info", {})
    threads = sorted({str(entry.get("extra_info", {}).get("threads")) for entry in document.get("benchmarks", [])
                      if entry.get("extra_info", {}).get("threads") is not None})
    torch_versions = sorted({str(entry.get("extra_info", {}).get("torch")) for entry in document.get("benchmarks", [])
                             if entry.get("extra_info", {}).get("torch")})
    cpu = machine.get("cpu", {})
    cpu_name = cpu.get("brand_raw") or machine.get("processor") or "unknown CPU"
    parts = [
        f"{document.get('datetime', '')[:19]}",
        f"{cpu_name} ({cpu.get('count', '?')} cores)",
        f"torch {', '.join(torch_versions) or '?'} on {', '.join(threads) or '?'} thread(s)",
        f"commit {str(commit.get('id', ''))[:10]}{' (dirty)' if commit.get('dirty') else ''}",
    ]
    return "Measured " + "; ".join(part for part in parts if part.strip())


def load_records(path: Path) -> list[dict[str, object]]:
    """One flat record per benchmark: its ``extra_info`` plus ``time`` (the chosen statistic) and ``min`` in seconds."""
    document = json.loads(Path(path).read_text())
    records = []
    for entry in document.get("benchmarks", []):
        info = dict(entry.get("extra_info", {}))
        if "method" not in info:
            continue
        info["time"] = float(entry["stats"][STATISTIC])
        info["min"] = float(entry["stats"]["min"])
        records.append(info)
    return records


def key_of(record: dict[str, object], fields: Iterable[str]) -> tuple[object, ...]:
    return tuple(record.get(field) for field in fields)


def milliseconds(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.2f}"


def ratio(numerator: float | None, denominator: float | None, suffix: str = "") -> str:
    if numerator is None or denominator is None or denominator == 0:
        return "-"
    return f"{numerator / denominator:.2f}{suffix}"


def describe_case(record: dict[str, object]) -> str:
    spatial = "x".join([str(record["size"])] * int(record["dims"]))
    layout = "1-ch two-phase" if record["channels"] == 1 else f"{record['channels']}-phase one-hot"
    boundary = "periodic" if record["periodic"] else "non-periodic"
    return f"{record['batch']} x {spatial}, {layout}, {boundary}, cutoff {record['cutoff']}, {record['dtype']}"


def descriptor_rows(records: list[dict[str, object]]) -> list[list[str]]:
    """One row per descriptor and pass, next to that descriptor's floor (benchmarks/test_bench_descriptors.py)."""
    mine = [record for record in records if "descriptor" in record]
    floor = {(record["descriptor"], record["pass"], record["device"]): float(record["time"])
             for record in mine if record["method"] == "floor"}
    rows = []
    for record in sorted(mine, key=lambda item: (str(item["descriptor"]), str(item["pass"]))):
        if record["method"] == "floor":
            continue
        base = floor.get((record["descriptor"], "forward", record["device"]))
        rows.append([
            str(record["descriptor"]), str(record["pass"]), f"{record['batch']} x {record['size']}x{record['size']}",
            str(record["device"]), milliseconds(float(record["time"])), milliseconds(base),
            ratio(float(record["time"]), base),
        ])
    return rows


def statistics_rows(records: list[dict[str, object]]) -> list[list[str]]:
    by_method: dict[str, dict[tuple, dict]] = defaultdict(dict)
    pymks: dict[tuple, dict[str, float]] = defaultdict(dict)
    for record in records:
        if "descriptor" in record:
            continue
        if record["method"] in ("spatialstats", "bare_fft"):
            by_method[str(record["method"])][key_of(record, STATISTICS_KEY)] = record
        elif str(record["method"]).startswith("pymks"):
            pymks[key_of(record, PYMKS_KEY)][str(record["method"])] = float(record["time"])
    rows = []
    ordered = sorted(by_method["spatialstats"].items(), key=lambda item: tuple(map(str, item[0])))
    for key, record in ordered:
        ours = float(record["time"])
        floor = by_method["bare_fft"].get(key, {}).get("time")
        theirs = pymks.get(key_of(record, PYMKS_KEY), {}) if record["pass"] == "forward" else {}
        best = min(theirs.values()) if theirs else None
        rows.append([
            str(record["pass"]), describe_case(record), str(record["device"]), milliseconds(ours),
            milliseconds(floor), ratio(ours, floor), milliseconds(theirs.get("pymks_numpy")),
            milliseconds(theirs.get("pymks_dask")), ratio(best, ours, "x"),
        ])
    return rows


def loss_rows(records: list[dict[str, object]]) -> list[list[str]]:
    timings = [record for record in records if record["pass"] == "forward+backward" and "case" in record
               and "descriptor" not in record
               and str(record["case"]).startswith("loss")]
    reference = {key_of(record, LOSS_KEY): float(record["time"]) for record in timings
                 if record["method"] == "torch_mse"}
    floor = {key_of(record, LOSS_KEY): float(record["time"]) for record in timings if record["method"] == "bare_fft"}
    rows = []
    for record in sorted(timings, key=lambda item: (str(item["device"]), int(item["batch"]), int(item["size"]))):
        median = float(record["time"])
        rows.append([
            str(record["method"]), f"{record['batch']} x {record['size']}x{record['size']}", str(record["device"]),
            milliseconds(median), ratio(median, reference.get(key_of(record, LOSS_KEY))),
            ratio(median, floor.get(key_of(record, LOSS_KEY))),
        ])
    return rows


def memory_rows(records: list[dict[str, object]]) -> list[list[str]]:
    rows = []
    memory = [record for record in records if record["pass"] == "memory" and "descriptor" not in record]
    for record in sorted(memory, key=lambda item: (str(item["device"]), str(item["method"]), int(item["batch"]))):
        peak, size = int(record["peak_extra_bytes"]), int(record["input_bytes"])
        bound = "" if record.get("exceeded_setup_high_water", True) else " (lower bound)"
        rows.append([
            str(record["method"]), f"{record['batch']} x {record['size']}x{record['size']}", str(record["device"]),
            f"{size / 2**20:.2f}", f"{peak / 2**20:.1f}{bound}", f"{peak / size:.1f}",
        ])
    return rows


TABLES = {
    "statistics": (
        "Statistics (ms)",
        ["pass", "case", "device", "spatialstats", "bare FFT", "spatialstats / bare FFT", "PyMKS numpy",
         "PyMKS dask", "best PyMKS / spatialstats"],
        statistics_rows,
    ),
    "losses": (
        "Losses, forward + backward (ms)",
        ["loss", "batch", "device", "ms", "/ torch MSE", "/ bare FFT"],
        loss_rows,
    ),
    "descriptors": (
        "Descriptors (ms; floor: the least work of the same kind, see benchmarks/test_bench_descriptors.py)",
        ["descriptor", "pass", "batch", "device", "ms", "floor (forward)", "/ floor"],
        descriptor_rows,
    ),
    "memory": (
        "Peak extra memory of one loss forward + backward",
        ["loss", "batch", "device", "input MiB", "peak extra MiB", "peak / input"],
        memory_rows,
    ),
}


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rst_cell(cell: str) -> str:
    """A table cell as reStructuredText: a lone ``-`` would start a bullet list, ``|`` a substitution."""
    if cell in ("", "-"):
        return "n/a"
    return cell.replace("|", "\\|")


def rst_table(header: list[str], rows: list[list[str]]) -> str:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append("   * - " + rst_cell(row[0]))
        lines += ["     - " + rst_cell(cell) for cell in row[1:]]
    return "\n".join(lines)


def render(records: list[dict[str, object]], flavour: str) -> str:
    parts = []
    for title, header, build in TABLES.values():
        rows = build(records)
        if not rows:
            continue
        if flavour == "md":
            parts.append(f"### {title}\n\n{markdown_table(header, rows)}\n")
        else:
            parts.append(f"{title}\n{'~' * len(title)}\n\n{rst_table(header, rows)}\n")
    return "\n".join(parts) if parts else "No benchmark records.\n"


def plot_time_vs_size(records: list[dict[str, object]], destination: Path) -> bool:
    """Log-log time vs voxels per field for the periodic forward cases, with an N log N line; False if too few."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    forward = [record for record in records if record["pass"] == "forward" and record["device"] == "cpu" and "descriptor" not in record
               and record["periodic"] and record["cutoff_mode"] == "full" and record["dtype"] == "float32"]
    ours = [record for record in forward if record["method"] == "spatialstats" and record["channels"] == 1]
    if not ours:
        return False
    # the (dims, batch) with the most sizes measured
    groups: dict[tuple, set] = defaultdict(set)
    for record in ours:
        groups[(record["dims"], record["batch"])].add(record["size"])
    dims, batch = max(groups, key=lambda group: len(groups[group]))
    if len(groups[(dims, batch)]) < 2:
        return False
    series = {
        "spatialstats (1-channel two-phase)": ("spatialstats", 1),
        "bare torch FFT autocorrelation": ("bare_fft", 1),
        "PyMKS numpy": ("pymks_numpy", 2),
        "PyMKS dask": ("pymks_dask", 2),
    }
    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    anchor = None
    for label, (method, channels) in series.items():
        points = sorted(
            (int(record["voxels"]), float(record["time"])) for record in forward
            if record["method"] == method and record["channels"] == channels and record["dims"] == dims
            and record["batch"] == batch
        )
        if len(points) < 2:
            continue
        axes.loglog([p[0] for p in points], [p[1] * 1e3 for p in points], "o-", label=label)
        if method == "spatialstats":
            anchor = points[-1]
    if anchor is not None:
        voxels = sorted({int(record["voxels"]) for record in ours if record["dims"] == dims})
        scale = anchor[1] / (anchor[0] * math.log(anchor[0]))
        axes.loglog(voxels, [scale * n * math.log(n) * 1e3 for n in voxels], "k--", linewidth=1,
                    label="N log N reference")
    axes.set_xlabel(f"voxels per field N ({dims}D, batch {batch})")
    axes.set_ylabel(f"{STATISTIC} time per batch (ms)")
    axes.set_title("Periodic 2-point statistics, forward, CPU")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(destination, dpi=120)
    plt.close(figure)
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Markdown tables and a plot from pytest-benchmark JSON.")
    parser.add_argument("raw", type=Path, help="the --benchmark-json file")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench"), help="folder for report.md and the plot")
    parser.add_argument("--docs", type=Path, default=None, help="also write report.rst and the plot here")
    parser.add_argument("--statistic", choices=("median", "min"), default="median",
                        help="which pytest-benchmark statistic the tables and plot use (default median)")
    arguments = parser.parse_args(argv)
    global STATISTIC
    STATISTIC = arguments.statistic

    records = load_records(arguments.raw)
    arguments.out.mkdir(parents=True, exist_ok=True)
    report = arguments.out / "report.md"
    run = describe_run(arguments.raw)
    report.write_text(f"# spatialstats benchmarks ({STATISTIC} times)\n\n{run}.\n\n" + render(records, "md"))
    plotted = plot_time_vs_size(records, arguments.out / "time_vs_size.png")
    print(f"wrote {report}" + (f" and {arguments.out / 'time_vs_size.png'}" if plotted else " (too few sizes to plot)"))
    if arguments.docs is not None:
        arguments.docs.mkdir(parents=True, exist_ok=True)
        (arguments.docs / "report.rst").write_text(f"{run}; {STATISTIC} times.\n\n" + render(records, "rst"))
        if plotted:
            (arguments.docs / "time_vs_size.png").write_bytes((arguments.out / "time_vs_size.png").read_bytes())
        print(f"wrote {arguments.docs / 'report.rst'}")


if __name__ == "__main__":
    main()
