#!/usr/bin/python3
"""bench_tool.py - read convkit-bench's Google Benchmark JSON (Debian python3, stdlib only).

  bench_tool.py report FILE.json OUTDIR    Markdown tables (OUTDIR/bench.md) plus gnuplot
                                           data and a script (OUTDIR/plots/) that
                                           bench-report.sh turns into PNGs
  bench_tool.py pytorch FILE.json [--filter RE] [--min-time S]
                                           run the same conv problems (and the seed CNN
                                           step) in PyTorch, print convkit/PyTorch ratios

Case names (bench/bench.h): conv/<pass>/<backend>/<descriptor>/threads:<T>,
gemm/<lib>/<M>x<N>x<K>/threads:<T>, net/<model>/<mode>/<backend>/mb<B>/threads:<T>,
peak/fma/threads:<T>, each followed by Google Benchmark's "/real_time".
Not here: running convkit-bench (scripts/bench.sh) or drawing (bench-report.sh).
"""
import json
import math
import os
import re
import statistics
import sys
import time

PASSES = ["fwd", "bwd_data", "bwd_weights"]
# Conv "backends" that are reference points, not convkit: never a "best convkit backend".
REFERENCE_BACKENDS = ("onednn", "onednn-blocked")
TIME_SUFFIXES = ("real_time", "manual_time", "process_time")


# ---------------------------------------------------------------------------------------
# Reading the JSON

def parse_name(name):
    """Split a case name into (kind, fields dict) or None for unknown names."""
    parts = [p for p in name.split("/") if p not in TIME_SUFFIXES]
    if not parts or not parts[-1].startswith("threads:"):
        return None
    threads = int(parts[-1].split(":")[1])
    f = {"threads": threads}
    kind = parts[0]
    if kind == "conv" and len(parts) == 5:
        f.update(passname=parts[1], backend=parts[2], desc=parts[3])
    elif kind == "gemm" and len(parts) == 4:
        f.update(lib=parts[1], shape=parts[2])
    elif kind == "net" and len(parts) == 6:
        f.update(model=parts[1], mode=parts[2], backend=parts[3], batch=int(parts[4][2:]))
    elif kind == "peak" and len(parts) == 3:
        pass
    else:
        return None
    return kind, f


def load(path):
    """(context, list of result dicts). One result per case: the median aggregate when
    the run had repetitions, else the median-time repetition."""
    with open(path) as fh:
        data = json.load(fh)
    by_run = {}
    for b in data.get("benchmarks", []):
        by_run.setdefault(b.get("run_name", b["name"]), []).append(b)
    results = []
    for run_name, entries in by_run.items():
        parsed = parse_name(run_name)
        if parsed is None:
            continue
        med = [e for e in entries if e.get("aggregate_name") == "median"]
        its = [e for e in entries if e.get("run_type", "iteration") == "iteration"]
        if med:
            e = med[0]
        else:
            its.sort(key=lambda e: e.get("real_time", 0.0))
            e = its[len(its) // 2]
        r = dict(parsed[1])
        r["kind"] = parsed[0]
        r["error"] = e.get("error_message") if e.get("error_occurred") else None
        for k in ("GFLOPS", "peak_pct", "local_peak_pct", "local_peak_gflops",
                  "workspace_bytes", "max_rel_err", "images_per_s"):
            if k in e:
                r[k] = e[k]
        r["real_time"] = e.get("real_time")
        r["time_unit"] = e.get("time_unit", "ns")
        results.append(r)
    return data.get("context", {}), results


# ---------------------------------------------------------------------------------------
# benchdnn descriptors (the same rules as src/conv_problem.c)

def parse_desc(desc):
    v = dict(re.findall(r"([a-z]+)(\d+)", desc.split("_")[0]))
    v = {k: int(x) for k, x in v.items()}
    p = {"N": v.get("mb", 2), "G": v.get("g", 1), "C": v["ic"], "H": v["ih"], "K": v["oc"],
         "R": v["kh"]}
    p["W"] = v.get("iw", p["H"])
    p["S"] = v.get("kw", p["R"])
    p["sh"] = v.get("sh", 1)
    p["sw"] = v.get("sw", p["sh"])
    p["pt"] = v.get("ph", 0)
    p["pl"] = v.get("pw", p["pt"])
    p["dh"] = v.get("dh", 0) + 1
    p["dw"] = v.get("dw", p["dh"] - 1) + 1
    reff = (p["R"] - 1) * p["dh"] + 1
    seff = (p["S"] - 1) * p["dw"] + 1
    p["pb"] = (v["oh"] - 1) * p["sh"] + reff - p["H"] - p["pt"] if "oh" in v else p["pt"]
    p["pr"] = (v["ow"] - 1) * p["sw"] + seff - p["W"] - p["pl"] if "ow" in v else p["pl"]
    p["P"] = (p["H"] + p["pt"] + p["pb"] - reff) // p["sh"] + 1
    p["Q"] = (p["W"] + p["pl"] + p["pr"] - seff) // p["sw"] + 1
    return p


def padding_class(p):
    """'valid', 'same' (TensorFlow rule) or 'explicit'."""
    pads = (p["pt"], p["pl"], p["pb"], p["pr"])
    if pads == (0, 0, 0, 0):
        return "valid"
    def same(n, s, k):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        return total // 2, total - total // 2
    th, bh = same(p["H"], p["sh"], (p["R"] - 1) * p["dh"] + 1)
    tw, bw = same(p["W"], p["sw"], (p["S"] - 1) * p["dw"] + 1)
    return "same" if pads == (th, tw, bh, bw) else "explicit"


def flops(p):
    return 2.0 * p["N"] * p["K"] * p["P"] * p["Q"] * (p["C"] // p["G"]) * p["R"] * p["S"]


# ---------------------------------------------------------------------------------------
# Report: Markdown + gnuplot data

def fmt(x, nd=1):
    if x is None:
        return "-"
    return f"{x:.{nd}f}" if abs(x) >= 0.1 or x == 0 else f"{x:.2g}"


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def median_or_none(xs):
    return statistics.median(xs) if xs else None


def write_dat(path, xs, columns, series):
    """Gnuplot table: first column x, one column per series name ('?' = missing)."""
    with open(path, "w") as fh:
        fh.write("x " + " ".join(columns) + "\n")
        for x in xs:
            vals = [series.get((c, x)) for c in columns]
            fh.write(f"{x} " + " ".join("?" if v is None else f"{v:.4g}" for v in vals) + "\n")


def report(path, outdir):
    ctx, res = load(path)
    conv = [r for r in res if r["kind"] == "conv"]
    for r in conv:
        r["p"] = parse_desc(r["desc"])
    backends = list(dict.fromkeys(r["backend"] for r in conv))  # registry order
    threads = sorted({r["threads"] for r in res})
    tmax = max(threads) if threads else 1
    peaks = {int(k[len("peak_gflops_"):-1]): float(v) for k, v in ctx.items()
             if k.startswith("peak_gflops_")}
    md = ["# convkit-bench results", ""]
    md.append(f"Source: `{os.path.basename(path)}`, {ctx.get('date', '?')}, host "
              f"`{ctx.get('host_name', '?')}`, {ctx.get('num_cpus', '?')} CPUs at "
              f"{ctx.get('mhz_per_cpu', '?')} MHz, load average at start "
              f"{', '.join(f'{x:.2f}' for x in ctx.get('load_avg', []))}.  ")
    md.append(f"convkit {ctx.get('convkit_version', '?')}, preset "
              f"`{ctx.get('convkit_preset', '?')}`, backends {ctx.get('convkit_backends', '?')}, "
              f"CPU features {ctx.get('cpu_features', '?')}.  ")
    end_peak = {r["threads"]: r.get("GFLOPS") for r in res if r["kind"] == "peak"}
    local = {}  # thread count -> the local probes of the cases
    for r in res:
        if "local_peak_gflops" in r and not r["error"]:
            local.setdefault(r["threads"], []).append(r["local_peak_gflops"])
    def local_range(t):
        return f" (local {min(local[t]):.1f}-{max(local[t]):.1f})" if t in local else ""
    if peaks:
        md.append("FMA-chain peak, GFLOP/s (start of run / end of run"
                  + (", range of the local probes" if local else "") + "): " + ", ".join(
            f"{t} thread{'s' if t > 1 else ''} {peaks[t]:.1f} / {fmt(end_peak.get(t))}"
            f"{local_range(t)}" for t in sorted(peaks))
            + ". A much lower end value means the host was busy.")
    md.append("")
    md.append("GFLOP/s is effective: direct-convolution FLOPs (2·N·K·P·Q·C/G·R·S) per second, "
              "whatever the algorithm; % peak is against the FMA-chain probe measured once at "
              "the start of the run for the same thread count; % local peak is against the "
              "same probe run for about 20 ms right before the case's timed loop (or less than "
              "a second earlier), so it follows the host's drift over the run (`-`: a run "
              "without local probes); max rel. error is against an fp64 reference, relative to the largest "
              "|ref|.")
    md.append("")

    # Summary per pass/backend/threads.
    md += ["## Convolution summary", ""]
    rows = []
    for ps in PASSES:
        for b in backends:
            for t in threads:
                rs = [r for r in conv if r["passname"] == ps and r["backend"] == b
                      and r["threads"] == t]
                if not rs:
                    continue
                ok = [r for r in rs if not r["error"]]
                g = [r["GFLOPS"] for r in ok if "GFLOPS" in r]
                pk = [r["peak_pct"] for r in ok if "peak_pct" in r]
                lpk = [r["local_peak_pct"] for r in ok if "local_peak_pct" in r]
                err = [r["max_rel_err"] for r in ok if "max_rel_err" in r]
                rows.append([ps, b, t, len(ok), len(rs) - len(ok), fmt(median_or_none(g)),
                             fmt(max(g) if g else None), fmt(median_or_none(pk)),
                             fmt(median_or_none(lpk)), f"{max(err):.2g}" if err else "-"])
    md.append(md_table(["pass", "backend", "threads", "run", "skipped", "median GFLOP/s",
                        "best GFLOP/s", "median % peak", "median % local peak",
                        "max rel. error"], rows))
    md.append("")

    # Every problem: GFLOP/s per backend, best in bold.
    md += ["## Convolution: every problem (GFLOP/s, best in bold, `-` = skipped)", ""]
    cell = {(r["passname"], r["desc"], r["threads"], r["backend"]): r for r in conv}
    keys = sorted({(r["passname"], r["desc"], r["threads"]) for r in conv},
                  key=lambda k: (PASSES.index(k[0]) if k[0] in PASSES else 9, k[1], k[2]))
    rows = []
    for ps, desc, t in keys:
        vals = [cell.get((ps, desc, t, b)) for b in backends]
        gs = [v.get("GFLOPS") if v and not v["error"] else None for v in vals]
        best = max((g for g in gs if g is not None), default=None)
        rows.append([ps, f"`{desc}`", t] +
                    [("**" + fmt(g) + "**" if g == best else fmt(g)) if g is not None else "-"
                     for g in gs])
    big = len(rows) > 60
    if big:
        md += ["<details><summary>%d rows</summary>" % len(rows), ""]
    md.append(md_table(["pass", "problem", "threads"] + backends, rows))
    if big:
        md += ["", "</details>"]
    md.append("")

    best_md = best_tables(conv, threads, tmax)
    md += best_md
    with open(os.path.join(outdir, "bench-best.md"), "w") as fh:
        fh.write("\n".join(best_md))

    gemm = [r for r in res if r["kind"] == "gemm"]
    if gemm:
        libs = list(dict.fromkeys(r["lib"] for r in gemm))
        shapes = sorted({r["shape"] for r in gemm},
                        key=lambda s: [int(x) for x in s.split("_")[0].split("x")] + [s])
        g = {(r["shape"], r["threads"], r["lib"]): r for r in gemm}
        rows = []
        for s in shapes:
            for t in threads:
                vals = [g.get((s, t, l)) for l in libs]
                if any(vals):
                    rows.append([s, t] + [fmt(v.get("GFLOPS")) if v and not v["error"] else "-"
                                          for v in vals])
        md += ["## SGEMM (row-major, C = A·B), GFLOP/s", "",
               md_table(["M x N x K", "threads"] + libs, rows), ""]

    nets = [r for r in res if r["kind"] == "net"]
    if nets:
        rows = [[r["model"], r["mode"], r["backend"], r["batch"], r["threads"],
                 fmt(r.get("images_per_s")) if not r["error"] else "skipped: " + r["error"],
                 fmt(r.get("GFLOPS")) if not r["error"] else "-"] for r in nets]
        md += ["## Networks (one training step or one inference forward per iteration)", "",
               md_table(["model", "mode", "backend", "batch", "threads", "images/s",
                         "GFLOP/s"], rows), ""]

    skipped = {}
    for r in res:
        if r["error"]:
            reason = re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "#", r["error"])
            skipped.setdefault(reason, []).append(r)
    if skipped:
        rows = [[len(v), v[0]["error"].replace("|", "/")] for v in
                sorted(skipped.values(), key=len, reverse=True)]
        md += ["## Skipped cases (grouped; numbers in the reason vary)", "",
               md_table(["cases", "example reason"], rows), ""]

    # Plot data: medians over problems with groups 1, dilation 1, square filters.
    pdir = os.path.join(outdir, "plots")
    os.makedirs(pdir, exist_ok=True)
    tcount = {}  # the test corpus (one thread count only) stays out of the plots
    for r in conv:
        tcount.setdefault(r["desc"], set()).add(r["threads"])
    plain = [r for r in conv if not r["error"] and "GFLOPS" in r and r["p"]["G"] == 1
             and len(tcount[r["desc"]]) == len(threads)
             and r["p"]["dh"] == 1 and r["p"]["dw"] == 1 and r["p"]["R"] == r["p"]["S"]]
    axes = {"filter": lambda p: p["R"],
            "stride": lambda p: p["sh"] if p["sh"] == p["sw"] else None,
            "padding": lambda p: padding_class(p)}
    rows_t = sorted({1 if 1 in threads else min(threads), tmax}) if threads else []
    for axis, key in axes.items():
        for ps in PASSES:
            for t in rows_t:
                groups = {}
                for r in plain:
                    x = key(r["p"])
                    if r["passname"] == ps and r["threads"] == t and x is not None:
                        groups.setdefault((r["backend"], x), []).append(r["GFLOPS"])
                order = {"valid": 0, "same": 1, "explicit": 2}
                xs = sorted({x for (_, x) in groups}, key=lambda x: order.get(x, x))
                write_dat(os.path.join(pdir, f"{axis}-{ps}-{t}t.dat"), xs, backends,
                          {k: statistics.median(v) for k, v in groups.items()})
    for ps in PASSES:
        groups = {}
        for r in plain:
            if r["passname"] == ps:
                groups.setdefault((r["backend"], r["threads"]), []).append(r["GFLOPS"])
        series = {k: statistics.median(v) for k, v in groups.items()}
        series.update({("peak", t): peaks[t] for t in peaks})
        write_dat(os.path.join(pdir, f"threads-{ps}.dat"), threads,
                  backends + (["peak"] if peaks else []), series)
    for b in backends:
        with open(os.path.join(pdir, f"accuracy-{b}.dat"), "w") as fh:
            for r in conv:
                if r["backend"] == b and not r["error"] and "max_rel_err" in r:
                    fh.write(f"{r['GFLOPS']:.4g} {max(r['max_rel_err'], 1e-10):.4g}\n")
    write_gnuplot(pdir, outdir, backends, rows_t, bool(peaks))
    if not backends:
        with open(os.path.join(outdir, "bench.md"), "w") as fh:
            fh.write("\n".join(md))
        return
    md += ["## Plots", "",
           "Medians over problems with groups 1, dilation 1 and square filters, measured at "
           "every thread count (not the test corpus); "
           "filter/stride/padding plots: one row per thread count "
           f"({', '.join(map(str, rows_t))}).", ""]
    for name, title in (("filter", "GFLOP/s vs filter size"), ("stride", "GFLOP/s vs stride"),
                        ("padding", "GFLOP/s vs padding"), ("threads", "Thread scaling"),
                        ("accuracy", "Accuracy vs speed")):
        md.append(f"![{title}](bench-{name}.png)")
    md.append("")
    with open(os.path.join(outdir, "bench.md"), "w") as fh:
        fh.write("\n".join(md))


def best_tables(conv, threads, tmax):
    """Markdown: the fastest convkit backend (not auto, naive or the oneDNN reference) per
    sweep point, grouped by filter x stride x padding (medians over channel pairs and image
    sizes), then per problem. Also written alone to bench-best.md for the README."""
    # Problems measured at every thread count: the sweep and the real layers, not the
    # test corpus (tiny shapes registered at one thread count only).
    tcount = {}
    for r in conv:
        tcount.setdefault(r["desc"], set()).add(r["threads"])
    real = [r for r in conv if not r["error"] and "GFLOPS" in r
            and r["backend"] not in ("auto", "naive") + REFERENCE_BACKENDS
            and len(tcount[r["desc"]]) == len(threads)]
    best = {}
    for r in real:
        k = (r["passname"], r["desc"], r["threads"])
        if k not in best or r["GFLOPS"] > best[k]["GFLOPS"]:
            best[k] = r
    ts = sorted({1 if 1 in threads else min(threads), tmax}) if threads else []
    md = ["## Best backend per sweep point", "",
          "The fastest convkit backend (auto, naive and oneDNN left out) for each problem "
          "measured at every thread count (the test corpus's tiny shapes left out); grouped "
          "rows give the median over the channel pairs and image sizes of that "
          "filter/stride/padding point and the backend that wins most often there (wins/problems).", ""]
    groups = {}
    for (ps, desc, t), r in best.items():
        p = r["p"]
        if p["G"] != 1 or p["dh"] != 1 or p["dw"] != 1 or p["R"] != p["S"] or p["sh"] != p["sw"]:
            continue
        groups.setdefault((ps, p["R"], p["sh"], padding_class(p)), {}).setdefault(t, []).append(r)
    order = {"valid": 0, "same": 1, "explicit": 2}
    rows = []
    for key in sorted(groups, key=lambda k: (PASSES.index(k[0]) if k[0] in PASSES else 9,
                                             k[1], k[2], order.get(k[3], 3))):
        ps, f, st, pad = key
        row = [ps, f"{f}x{f}", st, pad]
        for t in ts:
            rs = groups[key].get(t, [])
            if not rs:
                row += ["-", "-", "-"]
                continue
            wins = {}
            for r in rs:
                wins[r["backend"]] = wins.get(r["backend"], 0) + 1
            top = max(wins, key=wins.get)
            pk = [r["peak_pct"] for r in rs if "peak_pct" in r]
            row += [f"{top} ({wins[top]}/{len(rs)})", fmt(median_or_none([r["GFLOPS"] for r in rs])),
                    fmt(median_or_none(pk))]
        rows.append(row)
    hdr = ["pass", "filter", "stride", "padding"]
    for t in ts:
        hdr += [f"{t}T best backend", f"{t}T GFLOP/s", f"{t}T % peak"]
    md += [md_table(hdr, rows), ""]
    rows = []
    for ps, desc, t in sorted(best, key=lambda k: (PASSES.index(k[0]) if k[0] in PASSES else 9,
                                                   k[1], k[2])):
        r = best[(ps, desc, t)]
        rows.append([ps, f"`{desc}`", t, r["backend"], fmt(r["GFLOPS"]), fmt(r.get("peak_pct")),
                     fmt(r.get("local_peak_pct"))])
    md += ["<details><summary>per problem (%d rows)</summary>" % len(rows), "",
           md_table(["pass", "problem", "threads", "best backend", "GFLOP/s", "% peak",
                     "% local peak"], rows),
           "", "</details>", ""]
    return md


def write_gnuplot(pdir, outdir, backends, rows_t, has_peak):
    n = len(backends)
    if n == 0:  # no convolution cases (a GEMM or network run): no conv plots
        open(os.path.join(pdir, "plots.gp"), "w").close()
        return
    lines = ["set datafile missing '?'", "set key top left",
             "set grid", "set yrange [0:*]"]
    def panels(axis, xlabel, categorical, thread_rows):
        rows = len(thread_rows)
        out = [f"set terminal pngcairo noenhanced size 1500,{420 * rows} font ',10'",
               f"set output '{outdir}/bench-{axis}.png'", f"set multiplot layout {rows},3",
               f"set xlabel '{xlabel}'", "set ylabel 'GFLOP/s'"]
        if not categorical and (axis != "threads" or max(rows_t, default=1) <= 16):
            out.append("set xtics 1")
        for t in thread_rows:
            for ps in PASSES:
                f = f"{pdir}/{axis}-{ps}{'' if t is None else f'-{t}t'}.dat"
                using = "0:i:xtic(1)" if categorical else "1:i"
                cols = n + 1 + int(t is None and has_peak)
                tt = "" if t is None else f", {t} thread{'s' if t > 1 else ''}"
                out.append(f"set title '{ps}{tt}'")
                out.append("set offsets 0.5, 0.5, 0, 0" if categorical else "set offsets 0, 0, 0, 0")
                out.append(f"plot for [i=2:{cols}] '{f}' using {using} "
                           f"with linespoints lw 2 title columnheader(i)")
        out += ["unset multiplot", "set offsets 0, 0, 0, 0", "set xtics autofreq"]
        return out
    lines += panels("filter", "filter size R=S", False, rows_t)
    lines += panels("stride", "stride", False, rows_t)
    lines += panels("padding", "padding", True, rows_t)
    lines += panels("threads", "threads (median over problems)", False, [None])
    lines += ["set terminal pngcairo noenhanced size 900,600 font ',10'",
              f"set output '{outdir}/bench-accuracy.png'", "set title 'Accuracy vs speed'",
              "set xlabel 'GFLOP/s'", "set ylabel 'max relative error vs fp64'",
              "set logscale y", "set yrange [*:*]", "set format y '%.0e'",
              "plot " + ", ".join(f"'{pdir}/accuracy-{b}.dat' using 1:2 with points pt 7 "
                                  f"ps 0.6 title '{b}'" for b in backends)]
    with open(os.path.join(pdir, "plots.gp"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------
# PyTorch comparison

def torch_time(fn, min_time):
    """Seconds per call: one warm-up call, then batches doubling until >= min_time."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time or n >= 1 << 20:
            return dt / n
        n *= 2


def torch_conv_case(torch, ps, p, min_time):
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(p["N"], p["C"], p["H"], p["W"], generator=gen) * 2 - 1
    w = torch.rand(p["K"], p["C"] // p["G"], p["R"], p["S"], generator=gen) * 2 - 1
    b = torch.rand(p["K"], generator=gen) * 2 - 1
    sym = p["pt"] == p["pb"] and p["pl"] == p["pr"]
    pad = (p["pt"], p["pl"]) if sym else (0, 0)
    if not sym:  # PyTorch pads symmetrically only: pad once outside the timed calls
        x = F.pad(x, (p["pl"], p["pr"], p["pt"], p["pb"]))
    stride, dil = (p["sh"], p["sw"]), (p["dh"], p["dw"])
    dy = torch.rand(p["N"], p["K"], p["P"], p["Q"], generator=gen) * 2 - 1
    args = (list(stride), list(pad), list(dil), False, [0, 0], p["G"])
    cb = torch.ops.aten.convolution_backward
    with torch.no_grad():
        if ps == "fwd":
            fn = lambda: F.conv2d(x, w, b, stride, pad, dil, p["G"])
        elif ps == "bwd_data":
            fn = lambda: cb(dy, x, w, [p["K"]], *args, [True, False, False])
        else:
            fn = lambda: cb(dy, x, w, [p["K"]], *args, [False, True, True])
        return flops(p) / torch_time(fn, min_time) * 1e-9


def torch_seed_cnn(torch, mode, batch, min_time):
    nn = torch.nn
    model = nn.Sequential(  # the seed-cnn preset (DESIGN.md section 3)
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(4096, 128), nn.ReLU(), nn.Linear(128, 10))
    x = torch.rand(batch, 3, 32, 32)
    y = torch.arange(batch) % 10
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    def train():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    def infer():
        with torch.no_grad():
            torch.softmax(model(x), 1)
    return batch / torch_time(train if mode == "train" else infer, min_time)


def pytorch(path, pattern, min_time):
    import torch
    ctx, res = load(path)
    rx = re.compile(pattern) if pattern else None
    conv = {}
    for r in res:
        if (r["kind"] != "conv" or r["error"] or "GFLOPS" not in r
                or r["backend"] in REFERENCE_BACKENDS):
            continue
        key = (r["passname"], r["desc"], r["threads"])
        if rx and not rx.search("/".join(map(str, key))):
            continue
        if key not in conv or r["GFLOPS"] > conv[key]["GFLOPS"]:
            conv[key] = r
    print(f"# convkit vs PyTorch {torch.__version__} (convkit numbers from "
          f"{os.path.basename(path)}; PyTorch measured now, same problems and threads)\n")
    print("| pass | problem | threads | convkit best (backend) | PyTorch GFLOP/s | ratio |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for key in sorted(conv, key=lambda k: (PASSES.index(k[0]), k[1], k[2])):
        ps, desc, t = key
        torch.set_num_threads(t)
        tg = torch_conv_case(torch, ps, parse_desc(desc), min_time)
        ck = conv[key]["GFLOPS"]
        ratios.append(ck / tg)
        print(f"| {ps} | `{desc}` | {t} | {ck:.1f} ({conv[key]['backend']}) | {tg:.1f} | "
              f"{ck / tg:.2f}x |", flush=True)
    nets = [r for r in res if r["kind"] == "net" and not r["error"] and r["model"] == "seed-cnn"
            and (not rx or rx.search(f"{r['mode']}/mb{r['batch']}/{r['threads']}"))]
    if nets:
        print("\n| model | mode | batch | threads | convkit images/s (backend) | "
              "PyTorch images/s | ratio |")
        print("|---|---|---|---|---|---|---|")
        best = {}
        for r in nets:
            k = (r["mode"], r["batch"], r["threads"])
            if k not in best or r["images_per_s"] > best[k]["images_per_s"]:
                best[k] = r
        for (mode, batch, t), r in sorted(best.items()):
            torch.set_num_threads(t)
            ti = torch_seed_cnn(torch, mode, batch, min_time)
            print(f"| seed-cnn | {mode} | {batch} | {t} | {r['images_per_s']:.0f} "
                  f"({r['backend']}) | {ti:.0f} | {r['images_per_s'] / ti:.2f}x |", flush=True)
    if ratios:
        gm = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        print(f"\nGeometric mean convkit/PyTorch over {len(ratios)} conv cases: {gm:.2f}x "
              "(> 1: convkit faster).")


def main(argv):
    if len(argv) >= 3 and argv[0] == "report":
        report(argv[1], argv[2])
        return 0
    if len(argv) >= 2 and argv[0] == "pytorch":
        pattern, min_time, rest = None, 0.2, argv[2:]
        while rest:
            if rest[0] == "--filter" and len(rest) > 1:
                pattern, rest = rest[1], rest[2:]
            elif rest[0] == "--min-time" and len(rest) > 1:
                min_time, rest = float(rest[1]), rest[2:]
            else:
                print(f"bench_tool.py: unknown argument '{rest[0]}'", file=sys.stderr)
                return 2
        pytorch(argv[1], pattern, min_time)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
