#!/usr/bin/env python3
"""envpolicy benchmark runner (standard library only).

  python3 bench/run.py                      micro benchmark at N = 100, 1,000, 10,000, 100,000
  python3 bench/run.py --e2e                kubectl kustomize and kpt at N = 100 and 1,000
  python3 bench/run.py --smoke              everything once at N = 100: checks the bench code runs

Every measurement of one run is taken on the same machine state, commands interleaved
repetition by repetition, so the ratios compare like with like. Wall time is measured around
fork+exec+wait (process start included) with os.wait4, which also gives each run's peak RSS;
one extra run per command under GNU `time -v` gives the peak RSS reported in the table.

Results go to a JSON file (default bench/results/latest.json; sections not measured in this run
are kept from the previous file, each with its own commit) and a markdown table to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import gen  # noqa: E402

GNU_TIME = "/usr/bin/time"
DEFAULT_REPS = {100: 15, 1000: 9, 10000: 7, 100000: 1}

# The targets of the performance issue, as (id, text, limit, how the measured value compares).
TARGETS = {
    "ratio_1k": ("envpolicy/floor at N=1,000 (ResourceList)", 1.25, "<="),
    "ratio_10k": ("envpolicy/floor at N=10,000 (ResourceList)", 1.25, "<="),
    "ratio_1k_plugin": ("envpolicy/floor at N=1,000 (plugin mode)", 1.25, "<="),
    "ratio_10k_plugin": ("envpolicy/floor at N=10,000 (plugin mode)", 1.25, "<="),
    "scale_10k_1k": ("t(10,000)/t(1,000)", 12.0, "<="),
    "scale_100k_10k": ("t(100,000)/t(10,000)", 12.0, "<="),
    "rss_10k": ("peak RSS / input size at N=10,000", 4.0, "<="),
    "tiny_vs_cat_ms": ("10-item input: envpolicy - cat, ms wall", 3.0, "<="),
    "kustomize_1k": ("kubectl kustomize at N=1,000: envpolicy overlay / built-in patches", 0.5, "<="),
    "kpt_1k": ("kpt fn eval at N=1,000: envpolicy / echo", 1.10, "<="),
}


# ------------------------------------------------------------------------------------------
# Measuring
# ------------------------------------------------------------------------------------------


class Failed(RuntimeError):
    pass


class TimedOut(Failed):
    pass


# One run longer than this is stopped and its size reported as timed out (--timeout).
RUN_TIMEOUT_S = 600.0


def run_once(cmd, stdin=None, cwd=None, env=None, stdout=None):
    """Runs cmd once; returns (wall seconds, peak RSS in KiB, (user seconds, sys seconds))."""
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
    fout = open(stdout, "wb") if stdout else subprocess.DEVNULL
    with tempfile.TemporaryFile() as ferr:
        try:
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=ferr, cwd=cwd, env=env, start_new_session=True)
            timer = threading.Timer(RUN_TIMEOUT_S, lambda: os.killpg(p.pid, signal.SIGKILL))
            timer.start()
            try:
                _, status, ru = os.wait4(p.pid, 0)
            finally:
                timer.cancel()
            t1 = time.perf_counter()
            p.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if stdin:
                fin.close()
            if stdout:
                fout.close()
        if p.returncode == -signal.SIGKILL and t1 - t0 >= RUN_TIMEOUT_S:
            raise TimedOut(f"{' '.join(map(str, cmd))} ran over {RUN_TIMEOUT_S:.0f} s")
        if p.returncode != 0:
            ferr.seek(0)
            err = ferr.read().decode(errors="replace")[-2000:]
            raise Failed(f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{err}")
    return t1 - t0, ru.ru_maxrss, (ru.ru_utime, ru.ru_stime)


def gnu_time_rss(cmd, stdin=None, cwd=None, env=None) -> int | None:
    """Peak RSS in KiB as GNU `time -v` reports it."""
    if not os.access(GNU_TIME, os.X_OK):
        return None
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        run_once([GNU_TIME, "-v", "-o", report.name, *cmd], stdin=stdin, cwd=cwd, env=env)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", Path(report.name).read_text())
    return int(m.group(1)) if m else None


def stats(samples: list[float]) -> dict:
    med = statistics.median(samples)
    mad = statistics.median(abs(s - med) for s in samples)
    return {
        "median": med,
        "min": min(samples),
        "max": max(samples),
        "spread_pct": 100.0 * mad / med if med else 0.0,
        "samples": samples,
    }


def measure(cases: dict, reps: int, prepare=None, label: str = "", gnu_time: bool = False) -> dict:
    """Runs every case `reps` times, interleaved; cases: name -> dict(cmd, stdin, cwd, env).

    `prepare(name)` runs before each run, untimed (e.g. a fresh copy of a kpt package)."""
    gnu = {}
    walls = {k: [] for k in cases}
    rss = {k: [] for k in cases}
    cpu = {k: [] for k in cases}
    user = {k: [] for k in cases}
    kernel = {k: [] for k in cases}
    for r in range(reps):
        for name, c in cases.items():
            if prepare:
                prepare(name)
            if gnu_time and os.access(GNU_TIME, os.X_OK):
                # Every rep under GNU time -v: its peak RSS is the one reported (about 1 ms more
                # per run, the same for every command).
                with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
                    cmd = [GNU_TIME, "-v", "-o", report.name, *c["cmd"]]
                    w, m, u = run_once(cmd, c.get("stdin"), c.get("cwd"), c.get("env"))
                    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", Path(report.name).read_text())
                    m = int(found.group(1)) if found else m
                    gnu[name] = True
            else:
                w, m, u = run_once(c["cmd"], c.get("stdin"), c.get("cwd"), c.get("env"))
            walls[name].append(w)
            rss[name].append(m)
            cpu[name].append(sum(u))
            user[name].append(u[0])
            kernel[name].append(u[1])
        if label:
            line = "  ".join(f"{k} {walls[k][-1]:.3f}s" for k in cases)
            print(f"  {label} rep {r + 1}/{reps}: {line}", file=sys.stderr, flush=True)
    out = {}
    for name in cases:
        out[name] = {
            "wall_s": stats(walls[name]),
            "cpu_s_median": statistics.median(cpu[name]),
            "user_s_median": statistics.median(user[name]),
            "sys_s_median": statistics.median(kernel[name]),
            "peak_rss_kib_wait4_median": int(statistics.median(rss[name])),
        }
        if gnu.get(name):
            out[name]["peak_rss_kib"] = max(rss[name])
    return out


# ------------------------------------------------------------------------------------------
# Facts
# ------------------------------------------------------------------------------------------


def sh(cmd, cwd=ROOT) -> str:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def git_facts() -> dict:
    return {
        "commit": sh(["git", "rev-parse", "HEAD"]),
        "describe": sh(["git", "log", "-1", "--format=%h %s"]),
        "dirty": bool(sh(["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "Cargo.toml", "Cargo.lock"])),
    }


def machine_facts() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{mem_kib / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "os": sh(["sh", "-c", ". /etc/os-release 2>/dev/null && echo $PRETTY_NAME"]),
        "rustc": sh(["rustc", "--version"]),
        "python": platform.python_version(),
        # Other processes on the machine skew absolute times; the interleaved ratios less so.
        "loadavg_at_end": os.getloadavg(),
    }


def tool_facts() -> dict:
    return {
        "kubectl": sh(["kubectl", "version", "--client"]).replace("\n", "; "),
        "kpt": sh(["kpt", "version"]),
    }


# ------------------------------------------------------------------------------------------
# The micro benchmark: envpolicy against its floor
# ------------------------------------------------------------------------------------------


def micro(binary: Path, sizes: list[int], reps_for, inputs: Path) -> dict:
    section = {}
    for n in sizes:
        facts = gen.generate(inputs, n)
        d = inputs / f"n{n}"
        rl, stream, config = d / "resourcelist.yaml", d / "stream.yaml", d / "config.yaml"
        cases = {
            "envpolicy": {"cmd": [str(binary)], "stdin": rl},
            "floor": {"cmd": [str(binary), "--floor"], "stdin": rl},
            "envpolicy-plugin": {"cmd": [str(binary), str(config)], "stdin": stream},
            "floor-plugin": {"cmd": [str(binary), "--floor", str(config)], "stdin": stream},
            "cat": {"cmd": ["cat"], "stdin": rl},
        }
        reps = reps_for(n)
        print(f"micro N={n}: {facts['resourcelist_bytes'] / 1e6:.1f} MB, {facts['items']} items, {reps} reps", file=sys.stderr, flush=True)
        try:
            output_bytes = None
            if n <= 10000:  # larger inputs: the check would cost one more run of minutes
                output_bytes = check_outputs(binary, d)
            runs = measure(cases, reps, label=f"N={n}", gnu_time=True)
        except TimedOut as e:
            print(f"  N={n}: {e}; size left out", file=sys.stderr, flush=True)
            section[str(n)] = {"input": facts, "timed_out": str(e), "timeout_s": RUN_TIMEOUT_S}
            continue
        for name, c in cases.items():
            runs[name].setdefault("peak_rss_kib", None)
        for name in runs:
            size = facts["stream_bytes"] if name.endswith("plugin") else facts["resourcelist_bytes"]
            t = runs[name]["wall_s"]["median"]
            runs[name]["mb_per_s"] = size / 1e6 / t
            runs[name]["resources_per_s"] = facts["items"] / t
            rss = runs[name]["peak_rss_kib"] or runs[name]["peak_rss_kib_wait4_median"]
            runs[name]["rss_over_input"] = rss * 1024 / size
        med = lambda k: runs[k]["wall_s"]["median"]  # noqa: E731
        cpu = lambda k: runs[k]["cpu_s_median"]  # noqa: E731
        section[str(n)] = {
            "input": facts,
            "output_bytes": output_bytes,
            "reps": reps,
            "runs": runs,
            "ratio": med("envpolicy") / med("floor"),
            "ratio_plugin": med("envpolicy-plugin") / med("floor-plugin"),
            # CPU seconds (user + sys): the same comparison without the wall clock's share of
            # other processes on the machine.
            "cpu_ratio": cpu("envpolicy") / cpu("floor"),
            "cpu_ratio_plugin": cpu("envpolicy-plugin") / cpu("floor-plugin"),
            "phases": phases(binary, rl, max(1, min(reps, 5))),
        }
    return section


def phases(binary: Path, stdin: Path, reps: int) -> dict:
    """envpolicy's own split of a run (--phase-times): read, policies, write, median seconds;
    and the policies' share against reading plus writing, both measured in the same process."""
    samples: dict[str, list[float]] = {}
    for _ in range(reps):
        with open(stdin, "rb") as fin:
            p = subprocess.run([str(binary), "--phase-times"], stdin=fin, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, check=True)
        for m in re.finditer(r"phase (\w+) ([\d.]+) s", p.stderr):
            samples.setdefault(m.group(1), []).append(float(m.group(2)))
    out = {k: statistics.median(v) for k, v in samples.items()}
    if {"read", "policies", "write"} <= out.keys():
        out["policies_over_read_write"] = out["policies"] / (out["read"] + out["write"])
    return out


def shared_config_map(binary: Path, sizes: list[int], reps: int, inputs: Path) -> dict:
    """Workloads that all read one 1 MB ConfigMap that the policy changes: each needs a hash of
    it, so its content must be hashed once, not once per workload. Time should grow with the
    workloads, not with workloads × ConfigMap size."""
    section = {}
    for n in sizes:
        path = inputs / "shared-config-map" / f"n{n}.yaml"
        size = gen.shared_config_map_list(path, n)
        cases = {
            "envpolicy": {"cmd": [str(binary)], "stdin": path},
            "floor": {"cmd": [str(binary), "--floor"], "stdin": path},
        }
        print(f"shared ConfigMap N={n}: {size / 1e6:.1f} MB, {reps} reps", file=sys.stderr, flush=True)
        runs = measure(cases, reps, label=f"shared N={n}")
        for r in runs.values():
            r["wall_s"].pop("samples", None)
        section[str(n)] = {"bytes": size, "runs": runs}
    return section


# Maps and touches MiB of fresh anonymous memory, one byte per 4 KiB page, like a program
# building a tree: what the kernel (and, in a VM, the host) charges per new page.
TOUCH = """
import mmap, sys
n = int(sys.argv[1]) << 20
m = mmap.mmap(-1, max(n, 4096))
for off in range(0, n, 4096):
    m[off] = 1
"""


def peak_mibs(sizes: dict) -> list[int]:
    """The peak RSS of envpolicy and of its floor at each size (ResourceList), in MiB."""
    out = set()
    for s in sizes.values():
        for name in ("envpolicy", "floor"):
            r = s.get("runs", {}).get(name)
            if r:
                out.add(max(1, round((r["peak_rss_kib"] or r["peak_rss_kib_wait4_median"]) / 1024)))
    return sorted(out)


def page_cost(sizes_mib: list[int], reps: int = 3) -> dict:
    """Kernel time per fresh page when a process touches each size of new memory, median of
    `reps`, less the same process touching none. On bare metal it is flat; on some VMs it climbs
    past what the host has backed before, which makes any program that needs that much memory
    slower per page, not only envpolicy. Sizes under 64 MiB are left out (too small to time)."""
    def kernel_s(mib: int) -> float:
        return statistics.median(run_once([sys.executable, "-c", TOUCH, str(mib)])[2][1] for _ in range(reps))

    base = kernel_s(0)
    out = {}
    for mib in (m for m in sizes_mib if m >= 64):
        med = kernel_s(mib) - base
        out[str(mib)] = {"sys_s_median": med, "us_per_page": 1e6 * med / (mib * 256)}
        print(f"  page cost: {mib} MiB of fresh memory, {med:.2f} s kernel time", file=sys.stderr, flush=True)
    return out


def check_outputs(binary: Path, d: Path) -> int:
    """The floor writes its input back unchanged; envpolicy adds one HPA per workload. Returns the
    size of envpolicy's output: what it must hold before writing its first byte."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.yaml"
        run_once([str(binary), "--floor"], d / "resourcelist.yaml", stdout=out)
        if out.read_bytes() != (d / "resourcelist.yaml").read_bytes():
            print(f"  note: --floor output differs from its input ({d.name})", file=sys.stderr)
        run_once([str(binary)], d / "resourcelist.yaml", stdout=out)
        text = out.read_text()
        hpas = text.count("\n  kind: HorizontalPodAutoscaler\n")
        workloads = text.count("\n  kind: Deployment\n") + text.count("\n  kind: StatefulSet\n")
        if hpas != workloads:
            raise Failed(f"envpolicy wrote {hpas} HPAs for {workloads} workloads ({d})")
        return out.stat().st_size


def tiny(binary: Path, reps: int, inputs: Path) -> dict:
    """Process start and small input: a 10-item ResourceList, envpolicy against cat."""
    path = inputs / "tiny10.yaml"
    inputs.mkdir(parents=True, exist_ok=True)
    gen.tiny_resource_list(path, gen.DEFAULT_SEED, 10)
    cases = {
        "envpolicy": {"cmd": [str(binary)], "stdin": path},
        "floor": {"cmd": [str(binary), "--floor"], "stdin": path},
        "cat": {"cmd": ["cat"], "stdin": path},
    }
    for c in cases.values():  # warm the page cache and the binary
        run_once(c["cmd"], c["stdin"])
    print(f"tiny: 10 items, {reps} reps", file=sys.stderr, flush=True)
    runs = measure(cases, reps)
    med = lambda k: runs[k]["wall_s"]["median"]  # noqa: E731
    for r in runs.values():
        r["wall_s"].pop("samples")  # hundreds of them; the summary is enough
    return {
        "items": 10,
        "bytes": path.stat().st_size,
        "reps": reps,
        "runs": runs,
        "envpolicy_minus_cat_ms": 1000 * (med("envpolicy") - med("cat")),
        "floor_minus_cat_ms": 1000 * (med("floor") - med("cat")),
    }


# ------------------------------------------------------------------------------------------
# End to end: kubectl kustomize and kpt
# ------------------------------------------------------------------------------------------


def e2e(binary: Path, sizes: list[int], reps_for, inputs: Path) -> dict:
    section = {}
    for tool in ("kubectl", "kpt"):
        if not shutil.which(tool):
            raise Failed(f"{tool} is not on PATH; the end-to-end benchmark needs it")
    for n in sizes:
        facts = gen.generate(inputs, n, trees=True)
        d = inputs / f"n{n}"
        k = d / "kustomize"
        plugins = k / "plugins"
        target = plugins / "envpolicy.dev" / "v1alpha1" / "environmentpolicy" / "EnvironmentPolicy"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(binary, target)
        env = dict(os.environ, KUSTOMIZE_PLUGIN_HOME=str(plugins))
        kz = ["kubectl", "kustomize"]
        alpha = [*kz, "--enable-alpha-plugins"]
        replay_out = d / "replay" / "kustomize-plugin-output.yaml"
        replay_plugin(k, plugins, "Record", f'"{binary}" "{k / "overlays" / "prod" / "envpolicy.yaml"}" > "{replay_out}" && cat "{replay_out}"')
        replay_plugin(k, plugins, "Replay", f'cat >/dev/null && cat "{replay_out}"')
        kcases = {
            "base": {"cmd": [*kz, "base"], "cwd": k},
            "prod-patches": {"cmd": [*kz, "overlays/prod-patches"], "cwd": k},
            "prod-envpolicy": {"cmd": [*alpha, "overlays/prod"], "cwd": k, "env": env},
            "echo-plugin": {"cmd": [*alpha, "overlays/echo"], "cwd": k, "env": env},
            "replay-plugin": {"cmd": [*alpha, "overlays/replay"], "cwd": k, "env": env},
        }
        # The replay plugin prints what envpolicy printed for the same input, instantly: the
        # difference between the two is envpolicy's own cost inside kustomize.
        replay_out.parent.mkdir(parents=True, exist_ok=True)
        run_once([*alpha, "overlays/record"], cwd=k, env=env)
        check_kustomize(kcases, n)
        reps = reps_for(n)
        print(f"e2e kustomize N={n}: {reps} reps", file=sys.stderr, flush=True)
        kruns = measure(kcases, reps, label=f"kustomize N={n}")

        work = Path(tempfile.mkdtemp(prefix="envpolicy-bench-kpt-"))
        try:
            pkg = work / "pkg"
            fn_config = d / "kpt" / "envpolicy.yaml"

            def fresh(_name):
                if pkg.exists():
                    shutil.rmtree(pkg)
                shutil.copytree(d / "kpt" / "pkg", pkg)

            kpt = ["kpt", "fn", "eval", str(pkg), "--fn-config", str(fn_config), "--exec"]
            recorded = d / "replay" / "kpt-output.yaml"
            record = script(work / "record.sh", f'"{binary}" > "{recorded}" && cat "{recorded}"')
            replay = script(work / "replay.sh", f'cat >/dev/null && cat "{recorded}"')
            pcases = {
                "kpt-envpolicy": {"cmd": [*kpt, str(binary)], "cwd": work},
                "kpt-echo": {"cmd": [*kpt, "cat"], "cwd": work},
                "kpt-replay": {"cmd": [*kpt, str(replay)], "cwd": work},
            }
            fresh(None)
            run_once([*kpt, str(record)], cwd=work)
            fresh(None)
            run_once(pcases["kpt-envpolicy"]["cmd"], cwd=work)
            hpas = sum(1 for _ in pkg.rglob("hpa-*.yaml"))
            if hpas != n:
                raise Failed(f"kpt fn eval with envpolicy wrote {hpas} HPA files for {n} workloads")
            print(f"e2e kpt N={n}: {reps} reps", file=sys.stderr, flush=True)
            pruns = measure(pcases, reps, prepare=fresh, label=f"kpt N={n}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        med = lambda runs, key: runs[key]["wall_s"]["median"]  # noqa: E731
        section[str(n)] = {
            "input": facts,
            "reps": reps,
            "kustomize": kruns,
            "kpt": pruns,
            "kustomize_envpolicy_over_patches": med(kruns, "prod-envpolicy") / med(kruns, "prod-patches"),
            "kustomize_echo_over_patches": med(kruns, "echo-plugin") / med(kruns, "prod-patches"),
            "kustomize_envpolicy_over_echo": med(kruns, "prod-envpolicy") / med(kruns, "echo-plugin"),
            "kpt_envpolicy_over_echo": med(pruns, "kpt-envpolicy") / med(pruns, "kpt-echo"),
            "kustomize_replay_over_patches": med(kruns, "replay-plugin") / med(kruns, "prod-patches"),
            "kustomize_envpolicy_over_replay": med(kruns, "prod-envpolicy") / med(kruns, "replay-plugin"),
            "kpt_replay_over_echo": med(pruns, "kpt-replay") / med(pruns, "kpt-echo"),
            "kpt_envpolicy_over_replay": med(pruns, "kpt-envpolicy") / med(pruns, "kpt-replay"),
        }
    return section


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\nset -e\n{body}\n")
    path.chmod(0o755)
    return path


def replay_plugin(k: Path, plugins: Path, kind: str, body: str) -> None:
    """An exec plugin of kind `kind` (bench.envpolicy.dev/v1) running `body`, with its overlay."""
    lower = kind.lower()
    script(plugins / "bench.envpolicy.dev" / "v1" / lower / kind, body)
    overlay = k / "overlays" / lower
    overlay.mkdir(parents=True, exist_ok=True)
    (overlay / f"{lower}.yaml").write_text(
        f"apiVersion: bench.envpolicy.dev/v1\nkind: {kind}\nmetadata:\n  name: {lower}\n"
    )
    (overlay / "kustomization.yaml").write_text(
        f"# written by bench/run.py\nresources:\n- ../../base\ntransformers:\n- {lower}.yaml\n"
    )


def check_kustomize(cases: dict, n: int) -> None:
    """Both prod overlays build, with one HPA per workload."""
    with tempfile.TemporaryDirectory() as tmp:
        outs = {}
        for name in ("prod-patches", "prod-envpolicy", "replay-plugin"):
            c = cases[name]
            out = Path(tmp) / f"{name}.yaml"
            run_once(c["cmd"], cwd=c["cwd"], env=c.get("env"), stdout=out)
            outs[name] = out.read_text()
            hpas = outs[name].count("kind: HorizontalPodAutoscaler\n")
            if hpas != n:
                raise Failed(f"kubectl kustomize {name}: {hpas} HPAs for {n} workloads")
        if outs["replay-plugin"] != outs["prod-envpolicy"]:
            raise Failed("kubectl kustomize: the replay plugin's build differs from envpolicy's")
        if outs["prod-patches"] != outs["prod-envpolicy"]:
            print("  note: the two prod overlays' outputs differ", file=sys.stderr)


# ------------------------------------------------------------------------------------------
# Targets and report
# ------------------------------------------------------------------------------------------


def evaluate(results: dict) -> list[dict]:
    micro_all = results.get("micro", {}).get("sizes", {})
    micro_s = {n: s for n, s in micro_all.items() if "runs" in s}
    tiny_s = results.get("tiny", {})
    e2e_s = results.get("e2e", {}).get("sizes", {})
    measured = {}
    if "1000" in micro_s:
        measured["ratio_1k"] = micro_s["1000"]["ratio"]
        measured["ratio_1k_plugin"] = micro_s["1000"]["ratio_plugin"]
    if "10000" in micro_s:
        measured["ratio_10k"] = micro_s["10000"]["ratio"]
        measured["ratio_10k_plugin"] = micro_s["10000"]["ratio_plugin"]
        measured["rss_10k"] = micro_s["10000"]["runs"]["envpolicy"]["rss_over_input"]
    t = lambda n: micro_s[str(n)]["runs"]["envpolicy"]["wall_s"]["median"]  # noqa: E731
    if "1000" in micro_s and "10000" in micro_s:
        measured["scale_10k_1k"] = t(10000) / t(1000)
    if "10000" in micro_s and "100000" in micro_s:
        measured["scale_100k_10k"] = t(100000) / t(10000)
    elif "10000" in micro_s and "timed_out" in micro_all.get("100000", {}):
        # A lower bound: the run was stopped at the timeout.
        measured["scale_100k_10k"] = micro_all["100000"]["timeout_s"] / t(10000)
        measured["scale_100k_10k_is_lower_bound"] = True
    if "envpolicy_minus_cat_ms" in tiny_s:
        measured["tiny_vs_cat_ms"] = tiny_s["envpolicy_minus_cat_ms"]
    if "1000" in e2e_s:
        measured["kustomize_1k"] = e2e_s["1000"]["kustomize_envpolicy_over_patches"]
        measured["kpt_1k"] = e2e_s["1000"]["kpt_envpolicy_over_echo"]
    out = []
    for key, (text, limit, op) in TARGETS.items():
        value = measured.get(key)
        bound = measured.get(f"{key}_is_lower_bound", False)
        out.append({
            "lower_bound": bound,
            "id": key,
            "target": text,
            "limit": limit,
            "measured": value,
            "met": None if value is None else (value <= limit if op == "<=" else value >= limit),
        })
    return out


def fmt_s(w: dict) -> str:
    med = w["median"]
    return f"{med:.3f} ±{w['spread_pct']:.0f}%" if med < 10 else f"{med:.1f} ±{w['spread_pct']:.0f}%"


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table, the first column and the numbers right-aligned."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" for _ in header) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def scaling_lines(m: dict) -> list[str]:
    """User and kernel CPU time by size, their growth, and what fresh memory costs the kernel on
    this machine: time that grows faster than the input is split into ours (user) and the
    page faults of the memory we touch (sys)."""
    rows, user = [], {}
    for n, s in m["sizes"].items():
        r, f = s.get("runs", {}).get("envpolicy"), s.get("runs", {}).get("floor")
        if not (r and f and "user_s_median" in r):
            continue
        user[int(n)] = (r["wall_s"]["median"], r["user_s_median"], r["sys_s_median"])
        rows.append([f"{int(n):,}", f"{r['wall_s']['median']:.3f}", f"{r['user_s_median']:.3f}", f"{r['sys_s_median']:.3f}",
                     f"{f['wall_s']['median']:.3f}", f"{f['user_s_median']:.3f}", f"{f['sys_s_median']:.3f}"])
    if not rows:
        return []
    lines = ["Wall, user and kernel (sys) CPU seconds by size, ResourceList mode (median)", ""]
    lines += md_table(["N workloads", "envpolicy wall", "user", "sys", "floor wall", "user", "sys"], rows)
    lines.append("")
    growth = []
    for small, big in ((1000, 10000), (10000, 100000)):
        if small in user and big in user:
            a, b = user[small], user[big]
            growth.append(f"t({big:,})/t({small:,}): wall {b[0] / a[0]:.1f}, user {b[1] / a[1]:.1f}, sys {b[2] / a[2]:.1f}")
    if growth:
        lines += ["Growth of envpolicy's time: " + "; ".join(growth) + ".", ""]
    pc = m.get("page_cost") or {}
    if pc:
        cost = ", ".join(f"{int(k):,} MiB: {v['us_per_page']:.1f} µs" for k, v in pc.items())
        lines += [f"Kernel time per fresh 4 KiB page when a process touches this much new memory (the sizes are the peak RSS above): {cost}.", ""]
    return lines


def markdown(results: dict) -> str:
    lines = []
    m = results.get("micro")
    if m:
        lines += [
            f"**envpolicy vs its floor** (prod preset; median of the reps, ± median absolute deviation; commit `{m['git']['commit'][:10]}`{' + local changes' if m['git']['dirty'] else ''})",
            "",
            "| N workloads | items | input MB | mode | envpolicy s | floor s | ratio | MB/s | resources/s | peak RSS MB | RSS / input |",
            "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for n, s in m["sizes"].items():
            inp = s["input"]
            if "runs" not in s:
                lines.append(f"| {int(n):,} | {inp['items']:,} | {inp['resourcelist_bytes'] / 1e6:.1f} | ResourceList | stopped: over {s['timeout_s']:.0f} s | | | | | | |")
                continue
            for mode, ep, fl, size in (
                ("ResourceList", "envpolicy", "floor", inp["resourcelist_bytes"]),
                ("plugin", "envpolicy-plugin", "floor-plugin", inp["stream_bytes"]),
            ):
                r, f = s["runs"][ep], s["runs"][fl]
                rss = r["peak_rss_kib"] or r["peak_rss_kib_wait4_median"]
                lines.append(
                    f"| {int(n):,} | {inp['items']:,} | {size / 1e6:.1f} | {mode} | {fmt_s(r['wall_s'])} | {fmt_s(f['wall_s'])} "
                    f"| {r['wall_s']['median'] / f['wall_s']['median']:.2f} | {r['mb_per_s']:.0f} | {r['resources_per_s']:,.0f} "
                    f"| {rss / 1024:.0f} | {r['rss_over_input']:.1f}× |"
                )
        cpu_rows = [
            f"{int(n):,}: {s['cpu_ratio']:.2f} (plugin {s['cpu_ratio_plugin']:.2f})"
            for n, s in m["sizes"].items() if "cpu_ratio" in s
        ]
        if cpu_rows:
            lines += ["", "envpolicy / floor in CPU seconds (user + sys, medians): " + "; ".join(cpu_rows) + "."]
        out_rows = [
            f"{int(n):,}: {s['output_bytes'] / 1e6:.1f} MB ({s['output_bytes'] / s['input']['resourcelist_bytes']:.2f}× the input)"
            for n, s in m["sizes"].items() if s.get("output_bytes")
        ]
        if out_rows:
            lines += ["", "envpolicy's ResourceList output, all of it decided before its first byte is written: " + "; ".join(out_rows) + "."]
        lines += [
            "",
            "envpolicy's own split of a ResourceList run (`--phase-times`, median): the policies' cost against reading plus writing what it outputs",
            "",
            "| N workloads | read s | policies s | write s | policies / (read + write) |",
            "|---:|---:|---:|---:|---:|",
        ]
        for n, s in m["sizes"].items():
            ph = s.get("phases") or {}
            if "policies_over_read_write" in ph:
                lines.append(f"| {int(n):,} | {ph['read']:.3f} | {ph['policies']:.3f} | {ph['write']:.3f} | {ph['policies_over_read_write']:.2f} |")
        lines.append("")
        lines += scaling_lines(m)
    sc = results.get("shared_config_map")
    if sc:
        rows = [
            f"N = {int(n):,}: envpolicy {s['runs']['envpolicy']['wall_s']['median']:.3f} s, floor {s['runs']['floor']['wall_s']['median']:.3f} s"
            for n, s in sc["sizes"].items()
        ]
        lines += [f"**Shared ConfigMap** (every workload reads one 1 MB ConfigMap the policy changes, so each needs its hash): {'; '.join(rows)}.", ""]
    t = results.get("tiny")
    if t:
        lines += [
            f"**Process start** ({t['items']} items, {t['bytes']:,} bytes, {t['reps']} reps): envpolicy {1000 * t['runs']['envpolicy']['wall_s']['median']:.2f} ms, "
            f"floor {1000 * t['runs']['floor']['wall_s']['median']:.2f} ms, cat {1000 * t['runs']['cat']['wall_s']['median']:.2f} ms wall "
            f"(envpolicy − cat = {t['envpolicy_minus_cat_ms']:.2f} ms)",
            "",
        ]
    e = results.get("e2e")
    if e:
        lines += [
            f"**End to end** (commit `{e['git']['commit'][:10]}`): wall seconds, median ± MAD",
            "",
        ]
        nan = float("nan")
        kustomize_rows, kpt_rows = [], []
        for n, s in e["sizes"].items():
            k, p = s["kustomize"], s["kpt"]
            wall = lambda runs, key: fmt_s(runs[key]["wall_s"]) if key in runs else "—"  # noqa: E731
            kustomize_rows.append([
                f"{int(n):,}", wall(k, "base"), wall(k, "prod-patches"), wall(k, "echo-plugin"),
                wall(k, "replay-plugin"), wall(k, "prod-envpolicy"),
                f"{s['kustomize_envpolicy_over_patches']:.2f}", f"{s.get('kustomize_envpolicy_over_replay', nan):.2f}",
            ])
            kpt_rows.append([
                f"{int(n):,}", wall(p, "kpt-echo"), wall(p, "kpt-replay"), wall(p, "kpt-envpolicy"),
                f"{s['kpt_envpolicy_over_echo']:.2f}", f"{s.get('kpt_envpolicy_over_replay', nan):.2f}",
            ])
        lines += md_table(
            ["N", "kustomize base", "prod, built-in patches", "echo exec plugin", "replay exec plugin",
             "prod, envpolicy", "envpolicy / patches", "envpolicy / replay"], kustomize_rows)
        lines.append("")
        lines += md_table(
            ["N", "kpt fn eval, echo (`cat`)", "kpt fn eval, replay", "kpt fn eval, envpolicy",
             "envpolicy / echo", "envpolicy / replay"], kpt_rows)
        lines.append("")
    targets = results.get("targets") or []
    if targets:
        lines += ["| target | limit | measured | met |", "|---|---:|---:|:---:|"]
        for tg in targets:
            v = tg["measured"]
            lines.append(
                f"| {tg['target']} | {tg['limit']:g} | {'—' if v is None else ('> ' if tg.get('lower_bound') else '') + f'{v:.2f}'} "
                f"| {'—' if tg['met'] is None else ('yes' if tg['met'] else '**no**')} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    global RUN_TIMEOUT_S
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", type=Path, default=ROOT / "target" / "release" / "envpolicy")
    p.add_argument("--bin-commit", help="the commit --bin was built from, when not the work tree's HEAD")
    p.add_argument("--sizes", default="100,1000,10000,100000", help="micro benchmark sizes (workloads)")
    p.add_argument("--reps", type=int, help="repetitions per size (default: 15, 9, 7, 1 by size: one run at N = 100,000 takes a minute)")
    p.add_argument("--tiny-reps", type=int, default=300)
    p.add_argument("--e2e", action="store_true", help="run the kubectl kustomize and kpt benchmark only")
    p.add_argument("--e2e-sizes", default="100,1000")
    p.add_argument("--e2e-reps", type=int, help="default: 3 at N <= 100, else 1 (kustomize's patches take minutes at N = 1,000)")
    p.add_argument("--timeout", type=float, default=RUN_TIMEOUT_S, help="seconds one run may take (default %(default)s)")
    p.add_argument("--smoke", action="store_true", help="everything once at N=100; no results file unless --out")
    p.add_argument("--out", type=Path, help="results JSON (default bench/results/latest.json)")
    p.add_argument("--inputs", type=Path, default=HERE / "out" / "inputs")
    a = p.parse_args()

    RUN_TIMEOUT_S = a.timeout
    binary = a.bin.resolve()
    if not binary.is_file():
        print(f"no binary at {binary}; run cargo build --release", file=sys.stderr)
        return 2
    out = a.out or (HERE / "out" / "smoke.json" if a.smoke else HERE / "results" / "latest.json")
    results = {}
    if out.exists() and not a.smoke:
        try:
            results = json.loads(out.read_text())
        except ValueError:
            results = {}
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    def git_stamp():
        g = git_facts()
        if a.bin_commit:  # the binary was built elsewhere, from this commit
            g = {"commit": a.bin_commit, "describe": sh(["git", "log", "-1", "--format=%h %s", a.bin_commit]), "dirty": False}
        return g

    stamp = lambda: {"git": git_stamp(), "measured_at": now, "binary": str(binary.relative_to(ROOT) if binary.is_relative_to(ROOT) else binary)}  # noqa: E731
    try:
        if a.smoke:
            results["micro"] = {**stamp(), "sizes": micro(binary, [100], lambda n: 1, a.inputs)}
            results["micro"]["page_cost"] = page_cost(peak_mibs(results["micro"]["sizes"]), reps=1)
            results["tiny"] = {**stamp(), **tiny(binary, 5, a.inputs)}
            results["shared_config_map"] = {**stamp(), "sizes": shared_config_map(binary, [100], 1, a.inputs)}
            results["e2e"] = {**stamp(), "sizes": e2e(binary, [100], lambda n: 1, a.inputs)}
        elif a.e2e:
            sizes = [int(s) for s in a.e2e_sizes.split(",") if s]
            e2e_reps = (lambda n: a.e2e_reps) if a.e2e_reps else (lambda n: 3 if n <= 100 else 1)
            results["e2e"] = {**stamp(), "sizes": e2e(binary, sizes, e2e_reps, a.inputs)}
        else:
            sizes = [int(s) for s in a.sizes.split(",") if s]
            reps_for = (lambda n: a.reps) if a.reps else (lambda n: DEFAULT_REPS.get(n, 3 if n > 10000 else 11))
            results["micro"] = {**stamp(), "sizes": micro(binary, sizes, reps_for, a.inputs)}
            results["micro"]["page_cost"] = page_cost(peak_mibs(results["micro"]["sizes"]))
            results["tiny"] = {**stamp(), **tiny(binary, a.tiny_reps, a.inputs)}
            results["shared_config_map"] = {**stamp(), "sizes": shared_config_map(binary, [1000, 10000], 5, a.inputs)}
    except Failed as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    results["schema"] = 1
    results["machine"] = machine_facts()
    results["tools"] = tool_facts()
    results["seed"] = gen.DEFAULT_SEED
    results["targets"] = evaluate(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    print(markdown(results))
    print(f"results: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
