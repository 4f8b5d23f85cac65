#!/usr/bin/env python3
"""report.py: the writing half of scripts/bench.sh (standard library only).

Reads the JSON that scripts/bench/run.py wrote and
  - replaces what is between `<!-- bench:begin -->` and `<!-- bench:end -->` in
    BENCHMARKS.md with the tables (medians of the rounds, with min–max spread, and
    the targets met or missed);
  - writes two SVG charts (CPU per probe by method; latency percentiles) itself.
Measures nothing; can be rerun on an old results file.
"""

import argparse
import html
import json
import math
import os
import re
import statistics
import sys

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
PERIOD_S = 10.0  # the probe period the background cost is spread over
HOUR = 3600.0


# ------------------------------------------------------------------ numbers


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    values = [v for v in values if v is not None]
    return (min(values), max(values)) if values else (None, None)


def quartiles(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None, None, None
    q = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else [values[0]] * 3
    return q[0], statistics.median(values), q[2]


def us(value):
    """A duration in µs, in the unit that reads best."""
    if value is None:
        return "–"
    if value >= 1_000_000:
        return f"{value / 1e6:.2f} s"
    if value >= 10_000:
        return f"{value / 1e3:.0f} ms"
    if value >= 1000:
        return f"{value / 1e3:.1f} ms"
    if value >= 100:
        return f"{value:.0f} µs"
    return f"{value:.1f} µs"


def sec(value):
    if value is None:
        return "–"
    return us(value * 1e6)


def ranged(values, fmt=us):
    """median (min–max)"""
    middle = med(values)
    low, high = spread(values)
    if middle is None:
        return "–"
    if len([v for v in values if v is not None]) == 1 or low == high:
        return fmt(middle)
    return f"{fmt(middle)} ({fmt(low)}–{fmt(high)})"


def ratio(value):
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f}×"
    if value >= 10:
        return f"{value:.0f}×"
    return f"{value:.2f}×"


def count(value):
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.1f}".rstrip("0").rstrip(".")


# ------------------------------------------------------------------ derived figures


class Figures:
    def __init__(self, results):
        self.r = results
        self.rounds = results["per_probe"]["rounds"]

    def per_round(self, method, key):
        out = []
        for measured in self.rounds:
            m = measured[method]
            if key == "server":
                out.append(sum(m["cpu_us"][g] for g in m["server"].split("+")))
            elif key == "client":
                out.append(m["client_cpu_us"])
            elif key == "total":
                out.append(sum(m["cpu_us"][g] for g in m["server"].split("+")) + m["client_cpu_us"])
            elif key == "wall":
                out.append(m["wall_us"])
            elif key == "p50":
                out.append(m["p50_us"])
            else:
                out.append(m["cpu_us"][key])
        return out

    def paired_ratios(self, method, against):
        """Server-CPU ratios between neighbouring blocks (see run.py's paired_blocks)."""
        return [block[method] / block[against] for block in self.r.get("paired", [])
                if block.get(against)]

    def floor_ratio(self, floor="floor"):
        """The headline ratio: from the paired blocks when the run has them."""
        paired = self.paired_ratios("readyz", floor)
        return med(paired) if paired else med(self.ratio_rounds("readyz", floor, "server"))

    def mysql_per_probe(self, method, counter):
        return med([measured[method]["mysql_per_probe"][counter] for measured in self.rounds])

    def ratio_rounds(self, method, against, key="total"):
        """Per-round ratios (same round: same noise), then their median and spread."""
        a = self.per_round(method, key)
        b = self.per_round(against, key)
        return [x / y for x, y in zip(a, b) if y]

    # -- quiet window

    def background(self, window="with_sidecar"):
        q = self.r["quiet"]
        w, b = q[window], q["baseline"]
        seconds = w["seconds"]
        periods = seconds / PERIOD_S
        sidecar = w["cpu_ns"]["sidecar"] / 1e3
        induced = {}
        for group in ("php", "mariadbd"):
            idle_rate = b["cpu_ns"][group] / b["seconds"]
            induced[group] = max(0.0, (w["cpu_ns"][group] - idle_rate * seconds)) / 1e3
        return {
            "sidecar_us_per_period": sidecar / periods,
            "php_us_per_period": induced["php"] / periods,
            "mariadbd_us_per_period": induced["mariadbd"] / periods,
            "total_us_per_period": (sidecar + induced["php"] + induced["mariadbd"]) / periods,
            "raw_php_mariadb_us_per_period": (w["cpu_ns"]["php"] + w["cpu_ns"]["mariadbd"]) / 1e3 / periods,
            "sidecar_cpu_fraction": w["cpu_ns"]["sidecar"] / 1e9 / seconds,
            "seconds": seconds,
            "baseline_seconds": b["seconds"],
        }

    def mysql_hour(self, window="with_sidecar"):
        q = self.r["quiet"]
        w, b = q[window], q["baseline"]
        scale = HOUR / w["seconds"]
        base_scale = HOUR / b["seconds"]
        sidecar = {k: v * scale for k, v in w["mysql"].items()}
        baseline = {k: v * base_scale for k, v in b["mysql"].items()}
        return sidecar, baseline


# ------------------------------------------------------------------ tables


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


METHOD_LABELS = {
    "article": "the article's `GET /` to WordPress",
    "bitnami": "Bitnami's `GET /wp-login.php`",
    "exec": "exec probe: `curl -fsS /` + `mysqladmin ping`, new processes",
    "readyz": "**wp-sentinel `GET /readyz`**, new connection",
    "floor": "floor: bare TCP server (`examples/bench_floor.rs`)",
    "hyper": "floor: minimal hyper, 2 tokio workers (`examples/bench_hyper_ok.rs`)",
    "hyper_1thread": "floor: minimal hyper, single-threaded tokio",
}
SERVER_LABELS = {
    "php+mariadbd": "php -S (4 workers) + mariadbd",
    "sidecar": "wp-sentinel",
    "floor": "bench_floor",
    "hyper": "bench_hyper_ok",
    "hyper_1thread": "bench_hyper_ok",
}
CLIENT_LABELS = {
    "exec": "sh + curl + mysqladmin",
}


def per_probe_table(f):
    rows = []
    for method in ("article", "bitnami", "exec", "readyz"):
        server_kind = f.rounds[0][method]["server"]
        rows.append([
            METHOD_LABELS[method],
            SERVER_LABELS[server_kind],
            ranged(f.per_round(method, "server")),
            ranged(f.per_round(method, "client")) + ("" if method != "exec" else " (sh + curl + mysqladmin)"),
            ranged(f.per_round(method, "total")),
            us(med(f.per_round(method, "p50"))),
            ratio(med(f.ratio_rounds(method, "readyz", "server"))) if method != "readyz" else "1×",
            ratio(med(f.ratio_rounds(method, "readyz"))) if method != "readyz" else "1×",
        ])
    bg = f.background()
    rows.append([
        "wp-sentinel's background checks, per 10 s period (quiet minute at the default intervals)",
        "wp-sentinel + the php and mariadbd work it causes",
        f"{us(bg['total_us_per_period'])} (sidecar {us(bg['sidecar_us_per_period'])}, "
        f"php {us(bg['php_us_per_period'])}, mariadbd {us(bg['mariadbd_us_per_period'])})",
        "–", us(bg["total_us_per_period"]), "–",
        ratio(bg["total_us_per_period"] / med(f.per_round("readyz", "server"))),
        ratio(bg["total_us_per_period"] / med(f.per_round("readyz", "total"))),
    ])
    for method in ("floor", "hyper", "hyper_1thread"):
        rows.append([
            METHOD_LABELS[method], SERVER_LABELS[method],
            ranged(f.per_round(method, "server")),
            ranged(f.per_round(method, "client")),
            ranged(f.per_round(method, "total")),
            us(med(f.per_round(method, "p50"))),
            ratio(med(f.ratio_rounds(method, "readyz", "server"))),
            ratio(med(f.ratio_rounds(method, "readyz"))),
        ])
    return table(["probe", "server processes", "server CPU / probe", "client CPU / probe",
                  "total CPU / probe", "wall / probe (p50)", "server CPU vs `/readyz`",
                  "total vs `/readyz`"], rows)


def period_table(f):
    """What a pod pays per 10 s: one probe of each kind, and for wp-sentinel one
    `/readyz` plus its background checks."""
    readyz = med(f.per_round("readyz", "total"))
    rows = []
    for method in ("article", "bitnami", "exec"):
        total = med(f.per_round(method, "total"))
        rows.append([METHOD_LABELS[method], us(total), ratio(total / (f.background()["total_us_per_period"] + readyz))])
    for window, label in (("with_sidecar", "wp-sentinel, default intervals (WordPress and MySQL checked every 5 s)"),
                          ("wordpress_30s", "wp-sentinel, `wordpress.interval = 30s`")):
        if window not in f.r["quiet"]:
            continue
        bg = f.background(window)
        total = bg["total_us_per_period"] + readyz
        rows.append([f"{label}: one `/readyz` + background", us(total),
                     ratio(total / (f.background()["total_us_per_period"] + readyz))])
    return table(["one probe per 10 s period", "CPU per period, all processes",
                  "vs wp-sentinel at the defaults"], rows)


def floor_ratio_table(f):
    rows = []
    blocks = f.r.get("paired", [])
    for floor in ("floor", "hyper", "hyper_1thread"):
        paired = f.paired_ratios("readyz", floor)
        low, middle, high = quartiles(paired)
        rows.append([
            METHOD_LABELS[floor],
            f"{ratio(middle)} ({ratio(low)}–{ratio(high)})" if paired else "–",
            us(med([block[floor] for block in blocks])) if blocks else "–",
            ranged(f.ratio_rounds("readyz", floor, "server"), ratio),
        ])
    return table(["`/readyz` against", f"server CPU ratio, {len(blocks)} paired blocks: median (quartiles)",
                  "the floor's server CPU, median of the blocks",
                  "same ratio from the rounds above: median (min–max)"], rows)


def capacity_table(f):
    cap = f.r["capacity"]
    rows = []
    for key in cap["wrk"][0]:
        runs = [run[key] for run in cap["wrk"]]
        target, mode = key.split("/")
        rows.append([
            {"readyz": "wp-sentinel `/readyz`", "floor": "bare TCP floor", "hyper": "hyper, 2 workers",
             "hyper_1thread": "hyper, 1 thread"}[target],
            "new connection per request" if mode == "close" else "keep-alive",
            ranged([r["rps"] for r in runs], lambda v: f"{v:,.0f}"),
            us(med([r["p50_us"] for r in runs])),
            us(med([r["p99_us"] for r in runs])),
            us(med([r["p999_us"] for r in runs])),
            us(med([r["server_cpu_us_per_request"] for r in runs])),
            str(sum(r["errors"] + r["non2xx"] for r in runs)),
        ])
    return table(["server", "connections", "requests/s", "p50", "p99", "p99.9",
                  "server CPU / request", "errors"], rows)


def rate_table(f):
    runs = f.r["capacity"]["oha"]
    rows = []
    for target in runs[0]:
        values = [run[target] for run in runs]
        rows.append([
            {"readyz": "wp-sentinel `/readyz`", "floor": "bare TCP floor", "hyper": "hyper, 2 workers"}[target],
            f"{med([v['rps'] for v in values]):,.0f}",
            us(med([v["p50_us"] for v in values])),
            ranged([v["p99_us"] for v in values]),
            us(med([v["p999_us"] for v in values])),
            us(max(v["max_us"] for v in values)),
            f"{min(v['success_rate'] for v in values) * 100:.2f} %",
        ])
    return table(["server", "achieved req/s", "p50", "p99", "p99.9", "max", "success"], rows)


def footprint_table(f):
    r = f.r
    q = r["quiet"]["with_sidecar"]
    load = r["capacity"]["sidecar_under_load"]
    starts = r["startup"]
    bg = f.background()
    rows = [
        ["release binary (stripped, `opt-level=\"s\"`, fat LTO)", f"{r['binary_bytes'] / 1e6:.2f} MB ({r['binary_bytes']:,} bytes)", ""],
        ["static (musl) build", "not built here: the musl target is not installed on this machine", ""],
        ["RSS idle (after the quiet minute)", f"{q['rss_kib'] / 1024:.1f} MiB (peak {q['hwm_kib'] / 1024:.1f} MiB)", "under 8 MiB"],
        ["RSS under load (wrk, all runs; highest sample / peak)",
         f"{load['rss_max_kib'] / 1024:.1f} MiB / {load['hwm_kib'] / 1024:.1f} MiB", ""],
        ["threads idle / under load", f"{q['threads']} / {load['threads_max']}", ""],
        ["CPU idle (the sidecar itself, default intervals)",
         f"{bg['sidecar_cpu_fraction'] * 100:.3f} % of a core ({bg['sidecar_cpu_fraction'] * 1e3:.2f} ms/s)",
         "under 0.1 % of a core"],
        ["start-up: exec to the first 200 on `/healthz`",
         ranged([s["healthz_s"] for s in starts], sec) + f", {len(starts)} starts", ""],
        ["start-up: exec to the first 200 on `/readyz` (first checks done)",
         ranged([s["readyz_s"] for s in starts], sec), ""],
    ]
    return table(["what", "figure", "target"], rows)


def detection_table(f):
    d = f.r["detection"]
    edits = d["wpconfig_edits"]
    outages = d["db_outages"]
    rows = [
        ["`sed -i` DB_HOST → 'hoge' in wp-config.php → `/livez` fails",
         ranged([e["livez_fails_s"] for e in edits], sec), f"{len(edits)} edits", "under 1 s"],
        ["wp-config.php restored → `/livez` passes again",
         ranged([e["livez_passes_again_s"] for e in edits], sec), f"{len(edits)} edits", ""],
        ["`wpenv.sh db-stop` starts → `/readyz` fails",
         ranged([o["readyz_fails_s"] for o in outages], sec),
         f"{len(outages)} outages; the stop itself took {ranged([o['stop_command_s'] for o in outages], sec)}", ""],
        ["`wpenv.sh db-start` starts → `/readyz` passes",
         ranged([o["readyz_passes_s"] for o in outages], sec),
         f"the start itself took {ranged([o['start_command_s'] for o in outages], sec)}", ""],
        ["`/livez` during the outages",
         f"{sum(o['livez_not_200'] for o in outages)} failed of {sum(o['livez_polls'] for o in outages)} polls",
         "must stay 200: a database outage is no reason to restart WordPress", ""],
    ]
    article = f.r.get("article_e2e")
    if article:
        rows.append(["the article's `sed -i` → the restarted pod ready again (kubelet emulator, "
                     "`tests/e2e/article.rs`, probes from `k8s/base/deployment.yaml`)",
                     article, "the scenario runs the kubelet's clock 10× fast (a 10 s period takes 1 s); "
                     "\"emulated\" is that time on the kubelet's clock, \"real\" the wall clock (PHP's own "
                     "restart, about a second of real time, counts 10× in the emulated figure)", ""])
    else:
        rows.append(["the article's edit → WordPress healthy again (kubelet emulator)",
                     "not measured in this run", "comes from `tests/e2e/article.rs`, which "
                     "`scripts/bench.sh` runs when it exists and `BENCH_E2E` is not 0", ""])
    return table(["event → reaction", "time (median, min–max)", "notes", "target"], rows)


def mysql_table(f):
    sidecar, baseline = f.mysql_hour()
    slower = f.mysql_hour("wordpress_30s")[0] if "wordpress_30s" in f.r["quiet"] else None
    per = lambda method, counter: f.mysql_per_probe(method, counter)
    every_10s = HOUR / PERIOD_S
    # The sidecar's WordPress check loads /wp-login.php once per interval + mean jitter:
    # its PHP talks to MySQL too. Split that out with the per-probe counters.
    wp_checks_per_hour = HOUR / 5.25
    rows = [
        ["wp-sentinel at the default intervals, all it causes (measured, quiet minute)",
         count(sidecar["Connections"]), count(sidecar["Questions"]), count(sidecar["Com_admin_commands"]),
         count(sidecar["Aborted_connects"])],
        ["… of which its MySQL check (total less ~686 WordPress checks × Bitnami's per-page figures)",
         count(sidecar["Connections"] - wp_checks_per_hour * per("bitnami", "Connections")),
         count(sidecar["Questions"] - wp_checks_per_hour * per("bitnami", "Questions")),
         count(sidecar["Com_admin_commands"] - wp_checks_per_hour * per("bitnami", "Com_admin_commands")),
         count(sidecar["Aborted_connects"])],
    ]
    if slower:
        rows.append(["wp-sentinel with `wordpress.interval = 30s` (measured, quiet minute)",
                     count(slower["Connections"]), count(slower["Questions"]),
                     count(slower["Com_admin_commands"]), count(slower["Aborted_connects"])])
    rows += [
        ["exec probe `mysqladmin ping` every 10 s (per-ping counters × 360)"] +
        [count((per("exec", c) - per("article", c)) * every_10s) for c in COUNTERS],
        ["the whole exec probe (`curl /` + `mysqladmin ping`) every 10 s"] +
        [count(per("exec", c) * every_10s) for c in COUNTERS],
        ["the article's `GET /` every 10 s"] + [count(per("article", c) * every_10s) for c in COUNTERS],
        ["Bitnami's `GET /wp-login.php` every 10 s"] + [count(per("bitnami", c) * every_10s) for c in COUNTERS],
        ["nothing (MariaDB idle, the counter reads subtracted)"] + [count(baseline[c]) for c in COUNTERS],
    ]
    return table(["what", "connections / hour", "questions / hour", "admin commands (ping) / hour",
                  "aborted connects / hour"], rows)


COUNTERS = ("Connections", "Questions", "Com_admin_commands", "Aborted_connects")


def targets_table(f):
    rows = []

    def verdict(met, text):
        return ("met" if met else "**missed**") + (f": {text}" if text else "")

    floor_ratio = f.floor_ratio()
    blocks = f.r.get("paired", [])
    detail = (f"server CPU {us(med([b['readyz'] for b in blocks]))} against "
              f"{us(med([b['floor'] for b in blocks]))}, median of {len(blocks)} paired blocks"
              if blocks else
              f"server CPU {us(med(f.per_round('readyz', 'server')))} against "
              f"{us(med(f.per_round('floor', 'server')))}")
    rows.append(["CPU per probe (new connection) within 1.5× of the bare TCP floor",
                 f"{ratio(floor_ratio)} ({detail})",
                 verdict(floor_ratio <= 1.5, "" if floor_ratio <= 1.5 else f"by {floor_ratio / 1.5:.1f}×")])
    article = med(f.ratio_rounds("article", "readyz", "server"))
    article_total = med(f.ratio_rounds("article", "readyz"))
    rows.append(["~1000× under the article's `GET /`",
                 f"{ratio(article)} on server CPU; {ratio(article_total)} counting the client too",
                 verdict(article >= 1000 * 0.8, "" if article >= 800 else f"{article / 1000:.2f} of the aim")])
    exec_ratio = med(f.ratio_rounds("exec", "readyz", "server"))
    exec_total = med(f.ratio_rounds("exec", "readyz"))
    rows.append(["≥100× under the exec probe",
                 f"{ratio(exec_ratio)} on server CPU; {ratio(exec_total)} counting the client too",
                 verdict(min(exec_ratio, exec_total) >= 100, "")])
    bg = f.background()
    rows.append(["(context, no target) wp-sentinel's background per 10 s against one article `GET /`",
                 f"{us(bg['total_us_per_period'])} against {us(med(f.per_round('article', 'total')))}",
                 "see *What a pod pays per 10 s*"])
    rate = med([run["readyz"]["p99_us"] for run in f.r["capacity"]["oha"]])
    rows.append(["`/readyz`, new connections, 1,000 req/s: p99 under 1 ms", us(rate),
                 verdict(rate < 1000, "" if rate < 1000 else f"by {rate / 1000:.1f}×")])
    rss = f.r["quiet"]["with_sidecar"]["rss_kib"] / 1024
    rows.append(["idle RSS under 8 MiB", f"{rss:.1f} MiB", verdict(rss < 8, "")])
    cpu = f.background()["sidecar_cpu_fraction"] * 100
    rows.append(["idle CPU under 0.1 % of a core", f"{cpu:.3f} %", verdict(cpu < 0.1, "")])
    edits = [e["livez_fails_s"] for e in f.r["detection"]["wpconfig_edits"]]
    worst = max((e for e in edits if e is not None), default=None)
    ok = worst is not None and None not in edits and worst < 1
    rows.append(["wp-config.php edit detected under 1 s", f"median {sec(med(edits))}, worst {sec(worst)}",
                 verdict(ok, "")])
    return table(["target", "measured", "verdict"], rows)


def render(results, charts_rel, command):
    f = Figures(results)
    machine = results["machine"]
    a = results["config"]
    parts = [
        f"Run of {results['started']} (commit `{results.get('commit', '?')}`), `{command}`; "
        f"{machine.get('cpu', '?')}, {machine.get('cores')} cores, kernel {machine.get('kernel', '?')}, "
        f"load average (1/5/15 min) at the start {' / '.join(machine.get('loadavg_start', []))}, "
        f"at the end {' / '.join(machine.get('loadavg_end', ['?']))}"
        f" (the machine is shared: compare within this run).",
        "",
        "### Targets",
        "",
        targets_table(f),
        "",
        f"### 1. CPU per probe, side by side ({a['rounds']} interleaved rounds; median (min–max) of the rounds)",
        "",
        f"Per round: {a['n_page']} × `GET /`, {a['n_login']} × `/wp-login.php`, {a['n_exec']} exec probes, "
        f"{a['n_fast']} × each fast probe, one after another, each on a new connection "
        "(`examples/bench_client.rs`, the same client for every HTTP probe). CPU is every "
        "thread's `/proc/<pid>/task/*/schedstat` (exact nanoseconds; `/proc/<pid>/stat` "
        "ticks are the fallback when threads exited); the exec probe's client is "
        "`getrusage(RUSAGE_CHILDREN)`. During these rounds the sidecar's own checks run "
        "hourly, so PHP and MariaDB work only for the probe measured; the background is "
        "measured apart, in a quiet minute at the default intervals (less PHP's and "
        "MariaDB's idle CPU measured without the sidecar).",
        "",
        f"![CPU per probe by method]({charts_rel}/cpu-per-probe.svg)",
        "",
        per_probe_table(f),
        "",
        "What a pod pays per 10 s period, one probe per period (the article, Bitnami and the "
        "exec probe do all their work in the probe; wp-sentinel answers from its verdict and "
        "does its work in the background):",
        "",
        period_table(f),
        "",
        f"`/readyz` against the floors (server CPU per new connection). The rounds above "
        f"see the other tenants' load come and go between methods; the paired blocks "
        f"({a.get('blocks', '?')} × {a.get('n_block', '?')} probes to each server, back to back, the order "
        "alternating) compare neighbours, and their median ratio is the headline figure:",
        "",
        floor_ratio_table(f),
        "",
        f"hyperfine's view of the exec probe ({a['n_exec']} runs): median wall "
        f"{sec(results['hyperfine_exec']['median'])}, user {sec(results['hyperfine_exec']['user'])} + "
        f"system {sec(results['hyperfine_exec']['system'])} (client processes only).",
        "",
        f"### 2. Probe server capacity (wrk {a['wrk_seconds']} s × {a['wrk_repeats']} rounds, "
        f"{a['wrk_connections']} connections; servers pinned to CPU 0, wrk to CPU 1; the sidecar at its default intervals)",
        "",
        f"![latency percentiles]({charts_rel}/latency.svg)",
        "",
        capacity_table(f),
        "",
        f"Fixed rate, new connection per request: `oha -q 1000 --disable-keepalive --latency-correction`, "
        f"{a['rate_seconds']} s × {a['rate_repeats']} rounds (p99: median (min–max) of the rounds):",
        "",
        rate_table(f),
        "",
        "### 3. Footprint",
        "",
        footprint_table(f),
        "",
        "### 4. Detection and reaction (sidecar at its default intervals)",
        "",
        f"`/livez` polled every 2 ms and `/readyz` every 10 ms, each poll a new connection; "
        "times run from the start of the command.",
        "",
        detection_table(f),
        "",
        "### 5. Load on MySQL (a MariaDB of the benchmark's own; `SHOW GLOBAL STATUS` "
        "`Connections`, `Questions`, `Com_admin_commands` before and after, scaled to an hour)",
        "",
        mysql_table(f),
    ]
    return "\n".join(parts)


# ------------------------------------------------------------------ charts


def svg_bar_chart(title, groups, series_names, colors, unit_fmt, target=None, width=900):
    """Horizontal grouped bars on a log axis. groups: [(label, [values per series])]."""
    bar_h, gap = 14, 10
    left, right, top = 330, 90, 50
    n_series = len(series_names)
    height = top + len(groups) * (n_series * bar_h + gap) + 60
    values = [v for _, vs in groups for v in vs if v]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    plot_w = width - left - right

    def x(value):
        return left + plot_w * (math.log10(value) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
           f'{html.escape(title)}</text>']
    decade = lo
    axis_y = height - 40
    while decade <= hi * 1.0001:
        px = x(decade)
        out.append(f'<line x1="{px:.1f}" y1="{top - 8}" x2="{px:.1f}" y2="{axis_y}" stroke="#ddd"/>')
        out.append(f'<text x="{px:.1f}" y="{axis_y + 15}" text-anchor="middle" fill="#444">'
                   f'{html.escape(unit_fmt(decade))}</text>')
        decade *= 10
    if target:
        px = x(target[0])
        out.append(f'<line x1="{px:.1f}" y1="{top - 8}" x2="{px:.1f}" y2="{axis_y}" stroke="#c00" '
                   'stroke-dasharray="4,3"/>')
        out.append(f'<text x="{px + 4:.1f}" y="{top - 10}" fill="#c00">{html.escape(target[1])}</text>')
    y = top
    for label, vs in groups:
        group_h = n_series * bar_h
        out.append(f'<text x="{left - 8}" y="{y + group_h / 2 + 4:.1f}" text-anchor="end">'
                   f'{html.escape(label)}</text>')
        for i, value in enumerate(vs):
            if not value:
                continue
            w = max(1.0, x(value) - left)
            out.append(f'<rect x="{left}" y="{y + i * bar_h}" width="{w:.1f}" height="{bar_h - 2}" '
                       f'fill="{colors[i]}"/>')
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + i * bar_h + bar_h - 4}" font-size="11">'
                       f'{html.escape(unit_fmt(value))}</text>')
        y += group_h + gap
    if n_series > 1:
        lx = left
        for name, color in zip(series_names, colors):
            out.append(f'<rect x="{lx}" y="{height - 18}" width="12" height="12" fill="{color}"/>')
            out.append(f'<text x="{lx + 16}" y="{height - 8}">{html.escape(name)}</text>')
            lx += 30 + 7 * len(name)
    out.append(f'<text x="{left}" y="{axis_y + 30}" fill="#666" font-size="11">log scale</text>'
               if n_series == 1 else "")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def charts(results, out_dir):
    f = Figures(results)
    os.makedirs(out_dir, exist_ok=True)
    bg = f.background()
    cpu_groups = [
        ("article: GET / (php + mariadbd + client)", [med(f.per_round("article", "total"))]),
        ("exec: curl / + mysqladmin ping", [med(f.per_round("exec", "total"))]),
        ("Bitnami: GET /wp-login.php", [med(f.per_round("bitnami", "total"))]),
        ("wp-sentinel background, per 10 s", [bg["total_us_per_period"]]),
        ("wp-sentinel GET /readyz", [med(f.per_round("readyz", "total"))]),
        ("floor: hyper, 2 workers", [med(f.per_round("hyper", "total"))]),
        ("floor: hyper, 1 thread", [med(f.per_round("hyper_1thread", "total"))]),
        ("floor: bare TCP server", [med(f.per_round("floor", "total"))]),
    ]
    with open(os.path.join(out_dir, "cpu-per-probe.svg"), "w") as handle:
        handle.write(svg_bar_chart("CPU per probe, all processes involved (median of the rounds)",
                                   cpu_groups, ["CPU"], ["#3b6ea8"], us))
    lat_groups = []
    for key, label in [("readyz/close", "wp-sentinel, wrk, new connections"),
                       ("readyz/keepalive", "wp-sentinel, wrk, keep-alive"),
                       ("floor/close", "bare TCP, wrk, new connections"),
                       ("hyper/close", "hyper 2 workers, wrk, new conn."),
                       ("hyper_1thread/close", "hyper 1 thread, wrk, new conn.")]:
        runs = [run[key] for run in results["capacity"]["wrk"]]
        lat_groups.append((label, [med([r[p] for r in runs]) for p in ("p50_us", "p99_us", "p999_us")]))
    for key, label in [("readyz", "wp-sentinel, 1,000 req/s, new conn."),
                       ("floor", "bare TCP, 1,000 req/s, new conn."),
                       ("hyper", "hyper 2 workers, 1,000 req/s")]:
        runs = [run[key] for run in results["capacity"]["oha"]]
        lat_groups.append((label, [med([r[p] for r in runs]) for p in ("p50_us", "p99_us", "p999_us")]))
    with open(os.path.join(out_dir, "latency.svg"), "w") as handle:
        handle.write(svg_bar_chart("Latency percentiles (median of the rounds)", lat_groups,
                                   ["p50", "p99", "p99.9"], ["#7fb3d5", "#2e86c1", "#1b4f72"], us,
                                   target=(1000, "1 ms target (p99 at 1,000 req/s)")))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results")
    parser.add_argument("--markdown", required=True, help="BENCHMARKS.md")
    parser.add_argument("--charts", required=True, help="directory for the SVG files")
    parser.add_argument("--command", default="scripts/bench.sh")
    args = parser.parse_args()
    with open(args.results) as handle:
        results = json.load(handle)
    charts(results, args.charts)
    charts_rel = os.path.relpath(args.charts, os.path.dirname(os.path.abspath(args.markdown)))
    block = render(results, charts_rel, args.command)
    with open(args.markdown) as handle:
        text = handle.read()
    # The markers count only on lines of their own (prose may name them).
    pattern = re.compile("^" + re.escape(BEGIN) + "$.*?^" + re.escape(END) + "$", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: f"{BEGIN}\n{block}\n{END}", text, count=1)
    else:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{block}\n{END}\n"
    with open(args.markdown, "w") as handle:
        handle.write(text)
    print(f"report: tables in {args.markdown}, charts in {args.charts}", file=sys.stderr)


if __name__ == "__main__":
    main()
