#!/usr/bin/env python3
"""bill.py: the pod's bill from scripts/bench/run.py's raw figures.

Reads the "bill" and "detection_at_defaults" parts of results.json and writes a
markdown block into BENCHMARKS.md (between <!-- bill:begin --> and <!-- bill:end -->)
and an SVG bar chart. Standard library only; writes nothing but those two files.

usage: bill.py RESULTS.json --markdown BENCHMARKS.md --chart docs/bench/pod-bill.svg
"""

import argparse
import json
import statistics

BEGIN, END = "<!-- bill:begin -->", "<!-- bill:end -->"
# The defaults' average periods: interval + half the jitter.
LIGHT_PERIOD_S = 5.25
DEEP_PERIOD_S = 57.5
MYSQL_PERIOD_S = 5.25


def per_period(window, groups, period, baseline_rate):
    """CPU (ms) per `period` seconds of the window, by part, idle subtracted."""
    seconds = window["seconds"]
    parts = {}
    for group in groups:
        ns = window["cpu_ns"].get(group, 0)
        rate = ns / seconds * period / 1e6
        parts[group] = rate - baseline_rate.get(group, 0.0)
    parts["client"] = window.get("children_cpu_ns", 0) / seconds * period / 1e6
    return parts


def summarise(bill):
    period = bill["period_s"]
    base = bill["baseline"]
    baseline_rate = {g: ns / base["seconds"] * period / 1e6 for g, ns in base["cpu_ns"].items()}
    rows = {}
    for name in ("article", "bitnami", "exec"):
        rows[name] = per_period(bill[name], ("php", "mariadbd"), period, baseline_rate)
    rows["wp_sentinel"] = per_period(bill["wp_sentinel"], ("php", "mariadbd", "sidecar"), period,
                                     baseline_rate)
    costs = {path: statistics.median(r["php"] + r["mariadbd"] for r in rounds) / 1e3
             for path, rounds in bill["page_costs_us"].items()}
    window = bill["wp_sentinel"]
    requests = window["requests"]
    periods = window["seconds"] / period
    light = requests.get("/wp-includes/version.php", 0)
    deep = requests.get("/wp-login.php", 0)
    # The same bill with the deep check at its average rate (a window holds a whole
    # number of deep runs; their cost is known from the bursts).
    expected = (rows["wp_sentinel"]["php"] + rows["wp_sentinel"]["mariadbd"]
                - deep / periods * costs["/wp-login.php"]
                + period / DEEP_PERIOD_S * costs["/wp-login.php"]
                + rows["wp_sentinel"]["sidecar"])
    return rows, costs, {"light": light, "deep": deep, "periods": periods, "expected_ms": expected}


def total(parts):
    return sum(parts.values())


def fmt(ms):
    return f"{ms:.2f}" if abs(ms) < 10 else f"{ms:.1f}"


def median_or_none(values):
    values = [v for v in values if v is not None]
    return (statistics.median(values), max(values)) if values else (None, None)


def markdown(results):
    bill = results["bill"]
    rows, costs, window = summarise(bill)
    article = total(rows["article"])
    labels = {"article": "the article: `GET /` every 10 s",
              "bitnami": "Bitnami: `GET /wp-login.php` every 10 s",
              "exec": "exec probe every 10 s (`curl -fsS /` + `mysqladmin ping`)",
              "wp_sentinel": "wp-sentinel at its defaults (light + deep + MySQL, its own CPU, the kubelet's probes to it)"}
    load = results["machine"]
    out = [
        f"Run of {results['started']} (commit `{results.get('commit', '?')}`), "
        f"`BENCH_PHASES=bill scripts/bench.sh`; {bill['web_server']} "
        f"(prefork + mod_php, MaxRequestWorkers {bill['workers']}) and a MariaDB of the benchmark's own; "
        f"load average (1/5/15 min) at the start {' / '.join(load.get('loadavg_start', []))}, "
        f"at the end {' / '.join(load.get('loadavg_end', []))} (the machine is shared: compare within this run).",
        "",
        "| setup | web server (ms) | MariaDB (ms) | client / sidecar (ms) | CPU per 10 s (ms) | against the article |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("article", "bitnami", "exec", "wp_sentinel"):
        parts = rows[name]
        third = parts.get("sidecar", 0.0) + parts.get("client", 0.0)
        out.append(f"| {labels[name]} | {fmt(parts['php'])} | {fmt(parts['mariadbd'])} | {fmt(third)} | "
                   f"**{fmt(total(parts))}** | {total(parts) / article:.3f}× |")
    ratio_expected = window["expected_ms"] / article
    out += [
        "",
        f"Windows: {bill['baseline']['seconds']:.0f} s idle (subtracted), {bill['article']['seconds']:.0f} s for "
        f"each probe setup, {bill['wp_sentinel']['seconds']:.0f} s for wp-sentinel, one after another in one run. "
        f"In its window wp-sentinel sent {window['light']} light checks and {window['deep']} deep checks "
        f"({window['periods']:.0f} periods of 10 s); with the deep check at its average rate (one per "
        f"{DEEP_PERIOD_S} s, at the {fmt(costs['/wp-login.php'])} ms a `/wp-login.php` costs) the bill is "
        f"{fmt(window['expected_ms'])} ms per 10 s, **{ratio_expected:.3f}× the article's**.",
        "",
        "| page (Apache + MariaDB CPU per request, median of 3 bursts) | ms |",
        "|---|---|",
    ]
    for path, ms in costs.items():
        out.append(f"| `GET {path}` | {ms:.3f} |")
    windows = [("server without TLS (`preferred` settles on plain text)", bill["wp_sentinel"])]
    if "mysql_tls" in results:
        windows.append((f"server with TLS (have_ssl {results['mysql_tls'].get('have_ssl')}; `preferred` uses it)",
                        results["mysql_tls"]))
    out += [
        "",
        "MySQL load of wp-sentinel at its defaults (`SHOW GLOBAL STATUS` deltas over its window on the "
        "benchmark's own MariaDB, less what reading them adds; one check every 5-5.5 s):",
        "",
        "| counter | " + " | ".join(label for label, _ in windows) + " |",
        "|---|" + "---|" * len(windows),
    ]
    for key in ("Connections", "Aborted_connects", "Com_change_user", "Com_reset_connection",
                "Ssl_accepts", "Com_admin_commands", "Questions", "Threads_created"):
        if all(key not in window["mysql"] for _, window in windows):
            continue  # MariaDB 10.11 has no such counter
        cells = []
        for _, window in windows:
            value = window["mysql"].get(key)
            hours = window["seconds"] / 3600
            checks = window["seconds"] / MYSQL_PERIOD_S
            cells.append("n/a" if value is None else
                         f"{value} in {window['seconds']:.0f} s (~{checks:.0f} checks): {value / hours:.0f}/h")
        out.append(f"| `{key}` | " + " | ".join(cells) + " |")
    notes = []
    for label, window in windows:
        deep_pages = window.get("requests", {}).get("/wp-login.php", 0)
        own = window["mysql"].get("Connections", 0) - deep_pages
        notes.append(f"{label.split(' (')[0]}: {window['mysql'].get('Connections', 0)} connections for "
                     f"{deep_pages} deep checks (WordPress's `/wp-login.php` connects once per page): "
                     f"**{own} new connections by the MySQL check itself**")
    out += [
        "",
        "; ".join(notes) + ". One `Com_admin_commands` per check, the ping (the run of 2026-11-27 counted two, the "
        "second most likely the pool's reset, now off); MariaDB 10.11 shows no `Com_change_user` or "
        "`Com_reset_connection` counter. `Questions` are WordPress's own queries of the deep checks' "
        "pages. The sidecar's pooled connection was opened 3 s before each window and reused through "
        "it, hence no `Ssl_accepts` in the window (with TLS on the server the sidecar logged no "
        "fallback to plain text).",
    ]
    detection = results.get("detection_at_defaults")
    if detection:
        wedge = median_or_none(detection["wedge"])
        tables = median_or_none([d["readyz_fails_s"] for d in detection["missing_tables"]])
        table_live = sum(d["livez_failures"] for d in detection["missing_tables"])
        drift = median_or_none([d["livez_fails_s"] for d in detection["db_host_hoge"]])
        deep = median_or_none([d["deep_check_sees_database_error_s"] for d in detection["db_host_hoge"]])

        def span(pair):
            return "not seen" if pair[0] is None else f"median {pair[0]:.2f} s, worst {pair[1]:.2f} s"

        out += [
            "",
            "Detection at the defaults (the sidecar's answer, polled every 20 ms; no kubelet: add its period × failureThreshold):",
            "",
            "| event | detected by | time | target |",
            "|---|---|---|---|",
            f"| every Apache worker stuck in a slow PHP request ({len(detection['wedge'])}×) | `/livez` fails (light check times out twice) | {span(wedge)} | ≤ 15 s |",
            f"| `DB_HOST` set to `hoge` in wp-config.php ({len(detection['db_host_hoge'])}×) | `/livez` fails (drift) | {span(drift)} | ≤ 1 s |",
            f"| the same | the deep check reports WordPress's database error | {span(deep)} | ≤ 60 s |",
            f"| `wp_options` renamed away ({len(detection['missing_tables'])}×) | `/readyz` fails (deep check: 302 to the installer) | {span(tables)}; `/livez` failed {table_live} times meanwhile | ≤ 60 s |",
        ]
    out += ["", "![CPU per 10 s period, by setup](docs/bench/pod-bill.svg)"]
    return "\n".join(out)


def chart(results):
    rows, _, _ = summarise(results["bill"])
    names = [("article", "article: GET / every 10 s"), ("bitnami", "Bitnami: /wp-login.php every 10 s"),
             ("exec", "exec probe every 10 s"), ("wp_sentinel", "wp-sentinel at its defaults")]
    colours = {"php": "#4e79a7", "mariadbd": "#f28e2b", "third": "#59a14f"}
    width, left, bar, gap = 760, 250, 26, 14
    biggest = max(total(parts) for parts in rows.values()) or 1.0
    scale = (width - left - 90) / biggest
    height = 60 + len(names) * (bar + gap) + 40
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           f'<text x="10" y="20" font-size="14">CPU per 10 s period of health checking, one pod (ms; Apache + MariaDB, idle subtracted)</text>']
    y = 45
    for name, label in names:
        parts = rows[name]
        x = left
        svg.append(f'<text x="10" y="{y + bar * 0.7}">{label}</text>')
        for key, value in (("php", parts["php"]), ("mariadbd", parts["mariadbd"]),
                           ("third", parts.get("sidecar", 0.0) + parts.get("client", 0.0))):
            w = max(0.0, value) * scale
            svg.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colours[key]}"/>')
            x += w
        svg.append(f'<text x="{x + 6:.1f}" y="{y + bar * 0.7}">{fmt(total(parts))}</text>')
        y += bar + gap
    legend = (("php", "web server (Apache + mod_php)"), ("mariadbd", "MariaDB"),
              ("third", "probe client / wp-sentinel"))
    x = 10
    for key, label in legend:
        svg.append(f'<rect x="{x}" y="{y + 5}" width="12" height="12" fill="{colours[key]}"/>')
        svg.append(f'<text x="{x + 16}" y="{y + 15}">{label}</text>')
        x += 230
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results")
    parser.add_argument("--markdown", required=True)
    parser.add_argument("--chart", required=True)
    args = parser.parse_args()
    results = json.load(open(args.results))
    block = markdown(results)
    text = open(args.markdown).read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = f"{head}{BEGIN}\n{block}\n{END}{tail}"
    else:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{block}\n{END}\n"
    with open(args.markdown, "w") as handle:
        handle.write(text)
    with open(args.chart, "w") as handle:
        handle.write(chart(results))


if __name__ == "__main__":
    main()
