#!/usr/bin/env python3
"""Turn bench/figures.sh's measurements into the figures table of docs/PERFORMANCE.md.

    python3 bench/report.py FIGURES.jsonl BUDGETS.json docs/PERFORMANCE.md

FIGURES.jsonl has one JSON object per measurement (written by the benchmarks when
BENCH_FIGURES names the file); BUDGETS.json is the browser test's page figures. The table goes
between the markers below, replacing what was there (or before the first section, the first time); the
rest of the document is left as it is. The machine is read from /proc, the versions from the
environment figures.sh sets.
"""

import datetime
import json
import os
import sys

BEGIN = "<!-- figures:begin: written by bench/figures.sh; do not edit by hand -->"
END = "<!-- figures:end -->"


def machine():
    cores = os.cpu_count()
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return f"{cores} cores ({model}), {mem:.0f} GiB"


def n(x):
    return f"{x:,.0f}"


def ms(p):
    return f"{p['p50_ms']:.0f} / {p['p99_ms']:.0f}"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |"]
    out.append("|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|")
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def render(figures, budgets):
    by = lambda kind: [f for f in figures if f["bench"] == kind]
    env = os.environ.get
    mode = env("FIGURES_MODE", "full")
    lines = [
        BEGIN,
        f"## The figures table ({datetime.date.today()}, `bench/figures.sh{' --quick' if mode == 'quick' else ''}`)",
        "",
        f"Machine: {machine()}. Khidmat {env('KHIDMAT_VERSION', '?')} (release build), "
        f"rustc {env('RUSTC_VERSION', '?')}, PostgreSQL {env('PG_VERSION', '?')} (local, 1 GB "
        f"shared buffers), SQLite shell {env('SQLITE_VERSION', '?')}, Datasette "
        f"{env('DATASETTE_VERSION', '?')}. The load generators run on the same cores as the servers, "
        "so every figure is a floor.",
        "",
    ]
    o = by("open311")
    if o:
        lines += [
            "### Open311 (64 clients; POST files a report; list is `GET requests.json`, 100 a page)",
            "",
            table(
                ["store", "nodes", "reports", "POST /s", "POST p50 / p99 ms", "list /s",
                 "list p50 / p99 ms", "filtered list /s", "filtered p50 / p99 ms",
                 "resident MB at rest", "resident MB at a phase's end (most)", "resident MB under load (peak)"],
                [[f["backend"], f["nodes"], n(f["reports"]), n(f["post"]["per_second"]), ms(f["post"]),
                  n(f["list"]["per_second"]), ms(f["list"]), n(f["filtered"]["per_second"]),
                  ms(f["filtered"]), f["rss_rest_mb"], f.get("rss_phase_end_mb", "not measured"),
                  f["rss_load_mb"]] for f in o],
            ),
            "",
            "Errors: " + ", ".join(
                f"{f['backend']} × {f['nodes']}: {f['post']['errors'] + f['list']['errors'] + f['filtered']['errors']}"
                for f in o) + ". Reports acknowledged but not stored (lost) / stored twice (duplicated): " + ", ".join(
                f"{f['backend']} × {f['nodes']}: {f.get('post_lost', 'not counted')} / {f.get('post_duplicated', 'not counted')}"
                for f in o) + ". Jobs left waiting at the end of the POST phase (the reports' area alerts): " + ", ".join(
                f"{f['backend']} × {f['nodes']}: {f.get('post_jobs_waiting', 'not counted')}"
                for f in o) + ". Resident memory is the benchmark process's: the server (both nodes, "
            "for two) and the load generator together.",
            "",
        ]
    ceil = [f for f in o if "ceiling" in f]
    if ceil:
        share = lambda f, k: f"{f[k]['per_second'] / max(f['ceiling']['per_second'], 1e-9):.2f}"
        lines += [
            "### Against what the machine can serve (same run, same clients)",
            "",
            "The ceiling is the stylesheet, a static file served from memory through the same "
            "server. Each share is that request's rate over the ceiling's.",
            "",
            table(
                ["store", "nodes", "static file /s (ceiling)", "`/healthz` /s", "`services.json` /s",
                 "`discovery.json` /s", "POST share", "`services.json` share", "`discovery.json` share"],
                [[f["backend"], f["nodes"], n(f["ceiling"]["per_second"]), n(f["healthz"]["per_second"]),
                  n(f["services"]["per_second"]), n(f["discovery"]["per_second"]),
                  share(f, "post"), share(f, "services"), share(f, "discovery")] for f in ceil],
            ),
            "",
        ]
    pgb = by("pgbench_post")
    pg_post = [f for f in o if f["backend"] == "postgres"]
    if pgb and pg_post:
        p = pgb[-1]
        lines += [
            "### PostgreSQL's own rate for a report's statements (same run, same cluster)",
            "",
            "pgbench sends what one POST sends the database (`bench/post.pgbench`: the nearby-report "
            "read, then the report, its alerts job and its impact event in one transaction), prepared, "
            f"over {p['connections']} connections as the server's pool, with no server in between. "
            "Each share is the server's POST rate over it.",
            "",
            table(["pgbench /s", "pgbench latency ms"]
                  + [f"POST share, {f['nodes']} node{'s' if f['nodes'] > 1 else ''}" for f in pg_post],
                  [[n(p["per_second"]), f"{p['latency_ms']:.1f}"]
                   + [f"{f['post']['per_second'] / max(p['per_second'], 1e-9):.2f}" for f in pg_post]]),
            "",
        ]
    near = by("nearest")
    if near:
        lines += [
            "### Nearest search (in process, 10,000 queries each, 20 nearest within 5 km)",
            "",
            table(["places", "index build s", "query", "p50 µs", "p99 µs"],
                  [[n(f["places"]), f["build_s"], f["query"], f["p50_us"], f["p99_us"]] for f in near]),
            "",
        ]
    imp = by("csv_import")
    if imp:
        lines += ["### CSV import", ""]
        lines.append(table(
            ["rows", "`sqlite3 .import` s", "`.import` + the same indexes s", "`khidmat data import` s",
             "against `.import`", "against `.import` + indexes"],
            [[n(f["rows"]), f["sqlite3_import_s"], f["sqlite3_import_indexed_s"], f["khidmat_import_s"],
              f"{f['khidmat_import_s'] / f['sqlite3_import_s']:.1f}×",
              f"{f['khidmat_import_s'] / f['sqlite3_import_indexed_s']:.1f}×"] for f in imp]))
        lines.append("")
    ds = by("datastore")
    if ds:
        lines += ["### DataStore reads against Datasette (the same file, the same indexes)", ""]
        lines.append(table(
            ["rows", "query", "conns", "Khidmat /s", "p50 / p99 ms", "Datasette /s", "p50 / p99 ms", "ratio",
             "first ask, Khidmat / Datasette ms", "Khidmat resident MB"],
            [[n(f["rows"]), f["query"], f["clients"], n(f["khidmat"]["per_second"]), ms(f["khidmat"]),
              n(f["datasette"]["per_second"]), ms(f["datasette"]),
              f"{f['khidmat']['per_second'] / max(f['datasette']['per_second'], 1e-9):.1f}×",
              f"{f.get('khidmat_first_ms', '')} / {f.get('datasette_first_ms', '')}",
              f.get("khidmat_rss_mb", "")] for f in ds]))
        lines += [
            "",
            "The load repeats one request per phase. Khidmat keeps each answer for the version of "
            "the data it read (`opendata::Answers`), so after the first ask it serves what it kept; "
            "the first-ask column is what a new question costs on each.",
            "",
        ]
    if budgets:
        pages = {}
        for b in budgets:
            pages.setdefault(b["page"], {})[b["lang"]] = b
        lines += [
            "### Citizen pages on a 2G-class connection (400 kbit/s, 300 ms; a cold cache)",
            "",
            table(["page", "English KB", "Urdu KB", "English load ms", "Urdu load ms"],
                  [[p, v.get("en", {}).get("kb", ""), v.get("ur", {}).get("kb", ""),
                    v.get("en", {}).get("load_ms", ""), v.get("ur", {}).get("load_ms", "")]
                   for p, v in pages.items()]),
            "",
            f"Largest: {max(b['kb'] for b in budgets)} KB (budget 30 KB); photos and map tiles aside.",
            "",
        ]
    lines.append(END)
    return "\n".join(lines)


def main():
    figures_path, budgets_path, doc_path = sys.argv[1:4]
    figures = [json.loads(l) for l in open(figures_path) if l.strip()]
    budgets = json.load(open(budgets_path)) if os.path.exists(budgets_path) else []
    section = render(figures, budgets)
    doc = open(doc_path).read()
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        doc = head + section + tail
    else:
        # The first time: before the first section.
        at = doc.find("\n## ")
        at = len(doc) if at < 0 else at + 1
        doc = f"{doc[:at]}{section}\n\n{doc[at:]}"
    open(doc_path, "w").write(doc)
    print(section)


if __name__ == "__main__":
    main()
