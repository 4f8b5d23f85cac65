#!/usr/bin/env python3
"""run.py: the measuring half of scripts/bench.sh (standard library only).

Measures, side by side in one run, against the WordPress + MariaDB that
scripts/wpenv.sh brought up (its env file is the only input):

  1. per-probe cost (CPU of every process involved, wall time) of the article's
     `GET /`, Bitnami's `GET /wp-login.php`, an exec probe (`curl -fsS` +
     `mysqladmin ping` as new processes), wp-sentinel's `/readyz` (new connection
     per probe) and three floors (a bare TCP server; a minimal hyper server on the
     sidecar's runtime shape, and on a single-threaded runtime), in interleaved
     rounds;
  2. a quiet minute at the default intervals: the sidecar's background cost, idle
     footprint and the load it puts on MySQL; then the same without the sidecar;
  3. capacity with wrk (new connection per request and keep-alive) and a fixed
     1,000 req/s with oha, client and server pinned to different cores;
  4. start-up to the first answered probe;
  5. detection: wp-config.php edit -> /livez failing, database down -> /readyz
     failing, database back -> /readyz passing;
  6. the pod's bill (phase "bill"): CPU per 10 s period of the whole
     pod's health checking, each setup in a window of its own on the same Apache
     and MariaDB: the article's `GET /` every 10 s, Bitnami's `/wp-login.php`
     every 10 s, the exec probe every 10 s, and wp-sentinel at its defaults (light
     + deep + MySQL checks, its own CPU, the kubelet's probes to it), less idle
     Apache and MariaDB; per-request costs of the pages; the load on MySQL; and the
     detection times at the defaults (all workers stuck, missing tables, broken
     database settings).

Writes one JSON file of raw figures; scripts/bench/report.py turns it into tables
and charts. Starts only its own processes (by PID) and stops every one of them.
Traffic goes to 127.0.0.1 only; every loop is bounded.
"""

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The floors: name -> example binary and its extra arguments.
FLOORS = {
    "floor": ["bench_floor"],
    "hyper": ["bench_hyper_ok"],
    "hyper_1thread": ["bench_hyper_ok", "current-thread"],
}
RATE_TARGETS = ("readyz", "floor", "hyper")
BENCH_AGENT = "wp-sentinel-bench/1"
SED_DB_HOST_HOGE = "s/getenv_docker('WORDPRESS_DB_HOST', 'mysql')/'hoge'/"


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def read_env(path):
    values = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key] = value
    return values


# ------------------------------------------------------------------ CPU accounting


def task_cpu_ns(pid):
    """CPU of every live thread of PID, in ns (schedstat: exact, not tick-rounded)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as handle:
                total += int(handle.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def stat_cpu_ns(pid):
    """utime+stime of PID (all threads, also the exited ones), in ns; 10 ms ticks."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // CLK_TCK


def children_of():
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    return parents


def with_descendants(root):
    parents = children_of()
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(parents.get(pid, []))
    return found


class Group:
    """A named set of processes whose CPU is read together."""

    def __init__(self, name, pids_fn):
        self.name = name
        self.pids_fn = pids_fn

    def read(self):
        pids = self.pids_fn()
        return {pid: (task_cpu_ns(pid), stat_cpu_ns(pid)) for pid in pids}

    @staticmethod
    def delta_ns(before, after):
        """Exact schedstat delta; the tick-based one wins only when it is clearly
        larger (threads that exited during the window took their schedstat along)."""
        total = 0
        for pid, (sched_after, stat_after) in after.items():
            sched_before, stat_before = before.get(pid, (0, 0))
            sched = sched_after - sched_before
            stat = stat_after - stat_before
            total += stat if stat > sched + 2 * 1_000_000_000 // CLK_TCK else sched
        return total


def read_pid_file(path):
    with open(path) as handle:
        return int(handle.read().strip())


def proc_status(pid):
    values = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                values[key] = value.strip()
    except OSError:
        pass
    return values


def kib(value):
    return int(value.split()[0]) if value else 0


# ------------------------------------------------------------------ HTTP helpers


def http_status(port, path, timeout=1.0, agent="kube-probe/1.33"):
    """Status of GET path on a new connection (as the kubelet), 0 when no answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"User-Agent: {agent}\r\nConnection: close\r\n\r\n".encode()
            )
            data = b""
            while len(data) < 12:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return int(data[9:12]) if len(data) >= 12 else 0
    except (OSError, ValueError):
        return 0


def http_body(port, path, timeout=1.0):
    """The whole answer to GET path on a new connection, '' when none."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


def wait_status(port, path, want, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_status(port, path) == want:
            return True
        time.sleep(interval)
    return False


def port_free(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class Poller(threading.Thread):
    """Polls one path every `interval` s on a new connection and keeps (t, status)."""

    def __init__(self, port, path, interval, agent="kube-probe/1.33"):
        super().__init__(daemon=True)
        self.port, self.path, self.interval, self.agent = port, path, interval, agent
        self.samples = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            status = http_status(self.port, self.path, timeout=2.0, agent=self.agent)
            self.samples.append((started, status))
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join(5)

    def first(self, since, predicate, timeout):
        """Start time of the first poll begun at or after `since` matching predicate."""
        deadline = time.monotonic() + timeout
        index = 0
        while True:
            samples = self.samples
            while index < len(samples):
                started, status = samples[index]
                index += 1
                if started >= since and predicate(status):
                    return started
            if time.monotonic() > deadline:
                return None
            time.sleep(0.002)

    def all_since(self, since, until):
        return [status for started, status in self.samples if since <= started <= until]


# ------------------------------------------------------------------ processes we own


class Owned:
    """A process this script started; stopped by its PID only."""

    def __init__(self, name, argv, env=None, log_path=None, cpu=None):
        self.name = name
        self.log = open(log_path or os.devnull, "ab")
        self.started_at = time.monotonic()
        command = ["taskset", "-c", str(cpu)] + argv if cpu is not None else argv
        self.process = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL
        )
        self.pid = self.process.pid

    def stop(self, wait=15):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(wait)
            except subprocess.TimeoutExpired:
                log(f"{self.name} ignored SIGTERM for {wait} s: SIGKILL")
                self.process.kill()
                self.process.wait(5)
        self.log.close()


OWNED = []


def start(name, argv, env=None, log_path=None, cpu=None):
    owned = Owned(name, argv, env, log_path, cpu)
    OWNED.append(owned)
    return owned


def stop(owned):
    owned.stop()
    if owned in OWNED:
        OWNED.remove(owned)


def stop_all():
    for owned in list(OWNED):
        stop(owned)


# ------------------------------------------------------------------ the bench


class Bench:
    def __init__(self, args):
        self.args = args
        self.env = read_env(args.env)
        self.bin = os.path.join(args.target, "release", "wp-sentinel")
        self.examples = os.path.join(args.target, "release", "examples")
        self.work = args.work
        os.makedirs(self.work, exist_ok=True)
        self.wp_port = int(self.env["WPENV_PORT"])
        self.db_port = int(self.env["WPENV_DB_PORT"])
        self.socket = self.env["MYSQL_OWN_SOCKET"]
        self.php = Group("php", lambda: with_descendants(read_pid_file(self.env["WPENV_PHP_PID_FILE"])))
        self.mariadb = Group("mariadbd", lambda: [read_pid_file(self.env["MYSQL_OWN_PID_FILE"])])
        self.results = {
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "machine": machine(),
            "config": vars(args),
        }
        self.sidecar_port = args.ports[0]
        self.floor_ports = dict(zip(FLOORS, args.ports[1:]))
        for port in args.ports:
            if not port_free(port):
                raise SystemExit(f"bench: port {port} is taken (use --ports)")

    # -- the sidecar

    def sidecar_env(self, quiet_background):
        env = {k: v for k, v in os.environ.items() if not k.startswith("WP_SENTINEL_")}
        for key in ("WORDPRESS_DB_HOST", "WORDPRESS_DB_USER", "WORDPRESS_DB_PASSWORD",
                    "WORDPRESS_DB_NAME", "WORDPRESS_TABLE_PREFIX"):
            env[key] = self.env[key]
        env["WP_SENTINEL_SHUTDOWN__DRAIN"] = "0s"
        env["WP_SENTINEL_LOG__LEVEL"] = "info"
        if quiet_background:
            # Per-probe rounds: the background checks must not add to PHP's and
            # MariaDB's CPU while other probes are measured.
            for check in ("WORDPRESS", "WORDPRESS_LIGHT", "MYSQL", "WPCONFIG"):
                env[f"WP_SENTINEL_{check}__INTERVAL"] = "1h"
        return env

    def sidecar_argv(self):
        return [self.bin, "serve", "--listen", f"127.0.0.1:{self.sidecar_port}",
                "--wordpress-url", f"http://127.0.0.1:{self.wp_port}",
                "--wp-config", self.env["WPENV_WP_CONFIG"]]

    def start_sidecar(self, quiet_background=False, cpu=None, extra_env=None):
        env = self.sidecar_env(quiet_background)
        env.update(extra_env or {})
        sidecar = start("wp-sentinel", self.sidecar_argv(), env,
                        os.path.join(self.work, "sidecar.log"), cpu)
        if not wait_status(self.sidecar_port, "/readyz", 200, 30):
            raise SystemExit("bench: the sidecar's /readyz did not pass within 30 s "
                             f"(log: {self.work}/sidecar.log)")
        return sidecar

    # -- MariaDB counters

    def counters(self):
        out = subprocess.run(
            ["mariadb", "-uroot", f"--socket={self.socket}", "-Nse",
             "SHOW GLOBAL STATUS WHERE Variable_name IN ('Connections','Questions',"
             "'Queries','Com_admin_commands','Aborted_connects','Threads_created',"
             "'Com_change_user','Com_reset_connection','Ssl_accepts')"],
            check=True, capture_output=True, text=True).stdout
        return {line.split()[0]: int(line.split()[1]) for line in out.splitlines() if line.strip()}

    def counter_overhead(self):
        """What reading the counters itself adds between two reads."""
        deltas = []
        for _ in range(3):
            before = self.counters()
            after = self.counters()
            deltas.append({k: after[k] - before[k] for k in after})
        return {k: min(d[k] for d in deltas) for k in deltas[0]}

    def counter_delta(self, before, after):
        return {k: after[k] - before[k] - self.overhead.get(k, 0) for k in after}

    # -- 1. per-probe cost

    def exec_command(self):
        return (f"curl -fsS -o /dev/null http://127.0.0.1:{self.wp_port}/ && "
                f"mysqladmin ping -h 127.0.0.1 -P {self.db_port} -u {self.env['WORDPRESS_DB_USER']} "
                "--connect-timeout=2 --silent")

    def run_client(self, port, path, count):
        out = subprocess.run([os.path.join(self.examples, "bench_client"), f"127.0.0.1:{port}",
                              path, str(count)], check=True, capture_output=True, text=True).stdout
        return json.loads(out)

    def run_exec(self, count):
        env = dict(os.environ, MYSQL_PWD=self.env["WORDPRESS_DB_PASSWORD"])
        command = self.exec_command()
        walls, failures = [], 0
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(count):
            started = time.monotonic()
            if subprocess.run(["sh", "-c", command], env=env, stdout=subprocess.DEVNULL).returncode != 0:
                failures += 1
            walls.append(time.monotonic() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1e9
        walls.sort()
        return {"count": count, "failures": failures, "cpu_ns": int(cpu),
                "p50_us": walls[len(walls) // 2] * 1e6, "wall_ns": int(sum(walls) * 1e9)}

    def per_probe(self):
        log("per-probe cost: starting the sidecar (background checks every hour), floors")
        sidecar = self.start_sidecar(quiet_background=True)
        floors = self.start_floors()
        groups = {
            "php": self.php, "mariadbd": self.mariadb,
            "sidecar": Group("sidecar", lambda: [sidecar.pid]),
        }
        for name, owned in floors.items():
            groups[name] = Group(name, lambda pid=owned.pid: [pid])
        a = self.args
        methods = [
            ("article", "php+mariadbd", lambda: self.run_client(self.wp_port, "/", a.n_page)),
            ("bitnami", "php+mariadbd", lambda: self.run_client(self.wp_port, "/wp-login.php", a.n_login)),
            ("exec", "php+mariadbd", lambda: self.run_exec(a.n_exec)),
            ("readyz", "sidecar", lambda: self.run_client(self.sidecar_port, "/readyz", a.n_fast)),
        ] + [(name, name, lambda port=port: self.run_client(port, "/", a.n_fast))
             for name, port in self.floor_ports.items()]
        # Warm-up: caches, opcache, the thread cache of MariaDB.
        self.run_client(self.wp_port, "/", 10)
        self.run_client(self.wp_port, "/wp-login.php", 10)
        self.run_exec(3)
        for port in [self.sidecar_port] + list(self.floor_ports.values()):
            self.run_client(port, "/readyz", 200)
        rounds = []
        for round_index in range(a.rounds):
            log(f"per-probe cost: round {round_index + 1}/{a.rounds}")
            order = methods[round_index % len(methods):] + methods[:round_index % len(methods)]
            measured = {}
            for name, server, run in order:
                counters_before = self.counters()
                cpu_before = {g: group.read() for g, group in groups.items()}
                client = run()
                cpu_after = {g: group.read() for g, group in groups.items()}
                counters_after = self.counters()
                count = client["count"]
                measured[name] = {
                    "server": server,
                    "count": count,
                    "client": client,
                    "cpu_us": {g: Group.delta_ns(cpu_before[g], cpu_after[g]) / count / 1e3
                               for g in groups},
                    "client_cpu_us": client["cpu_ns"] / count / 1e3,
                    "wall_us": client["wall_ns"] / count / 1e3,
                    "p50_us": client["p50_us"],
                    "mysql_per_probe": {k: v / count for k, v in
                                        self.counter_delta(counters_before, counters_after).items()},
                }
                bad = {s: n for s, n in client.get("statuses", {"200": count}).items() if s != "200"}
                if bad or client.get("failures"):
                    log(f"warning: {name}: answers other than 200: {bad or client.get('failures')}")
                    measured[name]["not_200"] = bad or client.get("failures")
            rounds.append(measured)
        self.results["per_probe"] = {"rounds": rounds, "exec_command": self.exec_command()}
        self.results["paired"] = self.paired_blocks(groups)
        self.hyperfine_exec()
        stop(sidecar)
        for owned in floors.values():
            stop(owned)

    def paired_blocks(self, groups):
        """The sidecar and the floors, back to back in short blocks, many times: a
        ratio taken between neighbouring blocks sees the same noise on both sides,
        so its median resists the other tenants of the machine better than whole
        rounds do."""
        a = self.args
        log(f"per-probe cost: {a.blocks} paired blocks of {a.n_block} probes, sidecar against the floors")
        targets = [("readyz", self.sidecar_port, "/readyz", "sidecar")] + [
            (name, port, "/", name) for name, port in self.floor_ports.items()]
        blocks = []
        for index in range(a.blocks):
            block = {}
            order = targets if index % 2 == 0 else targets[::-1]
            for name, port, path, group in order:
                before = groups[group].read()
                client = self.run_client(port, path, a.n_block)
                after = groups[group].read()
                block[name] = Group.delta_ns(before, after) / client["count"] / 1e3
            blocks.append(block)
        return blocks

    def start_floors(self, cpu=None):
        floors = {}
        for name, port in self.floor_ports.items():
            argv = [os.path.join(self.examples, FLOORS[name][0]), f"127.0.0.1:{port}"] + FLOORS[name][1:]
            floors[name] = start(name, argv, cpu=cpu)
        for name, port in self.floor_ports.items():
            if not wait_status(port, "/", 200, 10):
                raise SystemExit(f"bench: floor server {name} on {port} did not answer")
        return floors

    def hyperfine_exec(self):
        """hyperfine's view of the exec probe (wall, user, system): a cross-check."""
        out = os.path.join(self.work, "hyperfine-exec.json")
        env = dict(os.environ, MYSQL_PWD=self.env["WORDPRESS_DB_PASSWORD"])
        subprocess.run(["hyperfine", "--style", "none", "--warmup", "3", "--runs", str(self.args.n_exec),
                        "--export-json", out, self.exec_command()],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as handle:
            result = json.load(handle)["results"][0]
        self.results["hyperfine_exec"] = {k: result[k] for k in ("mean", "median", "min", "max", "user", "system")}

    # -- 2. quiet window: background cost, idle footprint, MySQL load

    def quiet_window(self, seconds, groups):
        counters_before = self.counters()
        cpu_before = {g: group.read() for g, group in groups.items()}
        started = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - started
        cpu_after = {g: group.read() for g, group in groups.items()}
        counters_after = self.counters()
        return {
            "seconds": elapsed,
            "cpu_ns": {g: Group.delta_ns(cpu_before[g], cpu_after[g]) for g in groups},
            "mysql": self.counter_delta(counters_before, counters_after),
        }

    def quiet_with_sidecar(self, seconds, extra_env):
        sidecar = self.start_sidecar(extra_env=extra_env)
        time.sleep(5)  # past the first run of every check
        groups = {"sidecar": Group("sidecar", lambda: [sidecar.pid]),
                  "php": self.php, "mariadbd": self.mariadb}
        window = self.quiet_window(seconds, groups)
        status = proc_status(sidecar.pid)
        window.update({
            "env": extra_env,
            "rss_kib": kib(status.get("VmRSS")), "hwm_kib": kib(status.get("VmHWM")),
            "threads": int(status.get("Threads", 0)),
            "uptime_s": time.monotonic() - sidecar.started_at,
        })
        stop(sidecar)
        return window

    def quiet(self):
        a = self.args
        log(f"quiet window: the sidecar at its default intervals, {a.quiet} s without probes")
        with_sidecar = self.quiet_with_sidecar(a.quiet, {})
        log(f"quiet window: the sidecar with wordpress.interval = 30s, {a.quiet} s without probes")
        slower = self.quiet_with_sidecar(a.quiet, {"WP_SENTINEL_WORDPRESS__INTERVAL": "30s"})
        log(f"quiet window: {a.quiet_baseline} s without the sidecar (PHP and MariaDB idle)")
        time.sleep(1)
        baseline = self.quiet_window(a.quiet_baseline, {"php": self.php, "mariadbd": self.mariadb})
        self.results["quiet"] = {"with_sidecar": with_sidecar, "wordpress_30s": slower,
                                 "baseline": baseline}

    # -- 3. start-up

    def startup(self):
        log(f"start-up: {self.args.starts} starts, exec to the first 200 on /healthz and /readyz")
        runs = []
        for _ in range(self.args.starts):
            sidecar = start("wp-sentinel", self.sidecar_argv(), self.sidecar_env(False),
                            os.path.join(self.work, "sidecar-startup.log"))
            exec_at = sidecar.started_at
            healthz = readyz = None
            deadline = exec_at + 15
            while time.monotonic() < deadline and healthz is None:
                if http_status(self.sidecar_port, "/healthz", 0.5) == 200:
                    healthz = time.monotonic() - exec_at
                else:
                    time.sleep(0.0005)
            while time.monotonic() < deadline and readyz is None:
                if http_status(self.sidecar_port, "/readyz", 0.5) == 200:
                    readyz = time.monotonic() - exec_at
                else:
                    time.sleep(0.001)
            stop(sidecar)
            runs.append({"healthz_s": healthz, "readyz_s": readyz})
            time.sleep(0.2)
        self.results["startup"] = runs

    # -- 4. capacity

    def wrk(self, port, path, close, server_pid):
        env = dict(os.environ, WRK_CONNECTION_CLOSE="1" if close else "0")
        before = Group("server", lambda: [server_pid]).read()
        out = subprocess.run(
            ["taskset", "-c", "1", "wrk", "-t1", f"-c{self.args.wrk_connections}",
             f"-d{self.args.wrk_seconds}s", "-s", os.path.join(REPO, "scripts", "bench", "wrk.lua"),
             f"http://127.0.0.1:{port}{path}"],
            env=env, check=True, capture_output=True, text=True).stdout
        after = Group("server", lambda: [server_pid]).read()
        result = json.loads(out.strip().splitlines()[-1])
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        result["server_cpu_us_per_request"] = Group.delta_ns(before, after) / max(result["requests"], 1) / 1e3
        return result

    def oha(self, port, path, seconds):
        out = subprocess.run(
            ["taskset", "-c", "1", self.args.oha, "--no-tui", "--output-format", "json",
             "-z", f"{seconds}s", "-q", "1000", "-c", "8", "--disable-keepalive",
             "--latency-correction", f"http://127.0.0.1:{port}{path}"],
            check=True, capture_output=True, text=True).stdout
        data = json.loads(out)
        percentiles = data["latencyPercentiles"]
        return {
            "rps": data["summary"]["requestsPerSec"],
            "success_rate": data["summary"]["successRate"],
            "p50_us": percentiles["p50"] * 1e6, "p99_us": percentiles["p99"] * 1e6,
            "p999_us": percentiles["p99.9"] * 1e6,
            "max_us": data["summary"]["slowest"] * 1e6,
            "statuses": data.get("statusCodeDistribution", {}),
        }

    def capacity(self):
        a = self.args
        log("capacity: sidecar (default intervals) and floors pinned to CPU 0, clients to CPU 1")
        sidecar = self.start_sidecar(cpu=0)
        floors = self.start_floors(cpu=0)
        # The sidecar's threads may start after taskset: pin all of them now.
        subprocess.run(["taskset", "-a", "-p", "-c", "0", str(sidecar.pid)], check=True,
                       stdout=subprocess.DEVNULL)
        samples = {"rss_kib": 0, "threads": 0}
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                status = proc_status(sidecar.pid)
                samples["rss_kib"] = max(samples["rss_kib"], kib(status.get("VmRSS")))
                samples["threads"] = max(samples["threads"], int(status.get("Threads", 0)))
                sampling.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        targets = [("readyz", self.sidecar_port, "/readyz", sidecar.pid)] + [
            (name, self.floor_ports[name], "/", owned.pid) for name, owned in floors.items()]
        wrk_runs = []
        for repeat in range(a.wrk_repeats):
            log(f"capacity: wrk round {repeat + 1}/{a.wrk_repeats}")
            runs = {}
            for name, port, path, pid in targets:
                # The bare floor closes after every answer: keep-alive is moot there.
                for close in (True, False) if name != "floor" else (True,):
                    runs[f"{name}/{'close' if close else 'keepalive'}"] = self.wrk(port, path, close, pid)
            wrk_runs.append(runs)
        oha_runs = []
        for repeat in range(a.rate_repeats):
            log(f"fixed rate: oha 1,000 req/s, new connections, round {repeat + 1}/{a.rate_repeats}")
            oha_runs.append({name: self.oha(port, path, a.rate_seconds)
                             for name, port, path, _ in targets if name in RATE_TARGETS})
        sampling.set()
        sampler.join()
        status = proc_status(sidecar.pid)
        self.results["capacity"] = {
            "wrk": wrk_runs, "oha": oha_runs,
            "sidecar_under_load": {"rss_max_kib": samples["rss_kib"], "hwm_kib": kib(status.get("VmHWM")),
                                   "threads_max": samples["threads"]},
        }
        for owned in floors.values():
            stop(owned)
        return sidecar

    # -- 5. detection and reaction

    def detection(self, sidecar):
        a = self.args
        wp_config = self.env["WPENV_WP_CONFIG"]
        template = self.env["WPENV_WP_CONFIG_TEMPLATE"]
        live = Poller(self.sidecar_port, "/livez", 0.002, agent=BENCH_AGENT)
        live.start()
        edits = []
        for index in range(a.edits):
            log(f"detection: wp-config.php edit {index + 1}/{a.edits}")
            if not wait_status(self.sidecar_port, "/livez", 200, 30):
                raise SystemExit("bench: /livez does not pass before the edit")
            time.sleep(0.5)
            edit_at = time.monotonic()
            subprocess.run(["sed", "-i", SED_DB_HOST_HOGE, wp_config], check=True)
            written_at = time.monotonic()
            failed_at = live.first(edit_at, lambda s: s != 200, 10)
            time.sleep(0.5)
            restore_at = time.monotonic()
            subprocess.run(["install", "-m", "644", "-o", "www-data", "-g", "www-data", template, wp_config],
                           check=True)
            passed_at = live.first(restore_at, lambda s: s == 200, 30)
            edits.append({
                "sed_s": written_at - edit_at,
                "livez_fails_s": None if failed_at is None else failed_at - edit_at,
                "livez_passes_again_s": None if passed_at is None else passed_at - restore_at,
            })
        live.stop()

        ready = Poller(self.sidecar_port, "/readyz", 0.01)
        live = Poller(self.sidecar_port, "/livez", 0.05, agent=BENCH_AGENT)
        ready.start()
        live.start()
        outages = []
        wpenv = os.path.join(REPO, "scripts", "wpenv.sh")
        for index in range(a.outages):
            log(f"detection: database outage {index + 1}/{a.outages}")
            if not wait_status(self.sidecar_port, "/readyz", 200, 30):
                raise SystemExit("bench: /readyz does not pass before the outage")
            time.sleep(1 + index * 1.7)  # a different phase against the 5 s interval
            stop_at = time.monotonic()
            subprocess.run([wpenv, "db-stop"], check=True, stdout=subprocess.DEVNULL)
            stopped_at = time.monotonic()
            failed_at = ready.first(stop_at, lambda s: s != 200, 40)
            time.sleep(0.5 + index * 1.9)  # again a different phase against the interval
            start_at = time.monotonic()
            subprocess.run([wpenv, "db-start"], check=True, stdout=subprocess.DEVNULL)
            started_at = time.monotonic()
            passed_at = ready.first(start_at, lambda s: s == 200, 40)
            end = time.monotonic()
            live_statuses = live.all_since(stop_at, end)
            outages.append({
                "stop_command_s": stopped_at - stop_at,
                "readyz_fails_s": None if failed_at is None else failed_at - stop_at,
                "start_command_s": started_at - start_at,
                "readyz_passes_s": None if passed_at is None else passed_at - start_at,
                "livez_polls": len(live_statuses),
                "livez_not_200": sum(1 for s in live_statuses if s != 200),
            })
        ready.stop()
        live.stop()
        self.results["detection"] = {"wpconfig_edits": edits, "db_outages": outages}

    # -- 6. the pod's bill

    def log_len(self):
        try:
            return os.stat(self.env["WPENV_PHP_LOG"]).st_size
        except OSError:
            return 0

    def requests_between(self, since, until):
        """Paths the web server logged between two log lengths, counted."""
        counts = {}
        with open(self.env["WPENV_PHP_LOG"], "rb") as handle:
            handle.seek(since)
            text = handle.read(max(0, until - since)).decode(errors="replace")
        for line in text.splitlines():
            head, sep, request = line.partition("]: ")
            if sep and " " in request:
                path = request.split(" ", 1)[1].strip().split("?")[0]
                counts[path] = counts.get(path, 0) + 1
        return counts

    def periodic_window(self, seconds, actions, groups):
        """Runs each (period, action) from the window's start on, every period, for
        `seconds`; CPU of `groups`, of child processes (exec probes), MySQL counters
        and what the web server logged meanwhile."""
        done = threading.Event()

        def every(period, action):
            next_at = time.monotonic()
            while not done.is_set():
                action()
                next_at += period
                done.wait(max(0.0, next_at - time.monotonic()))

        threads = [threading.Thread(target=every, args=a, daemon=True) for a in actions]
        counters_before = self.counters()
        log_before = self.log_len()
        cpu_before = {g: group.read() for g, group in groups.items()}
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        for thread in threads:
            thread.start()
        done.wait(seconds)
        done.set()
        for thread in threads:
            thread.join(30)
        elapsed = time.monotonic() - started
        cpu_after = {g: group.read() for g, group in groups.items()}
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        counters_after = self.counters()
        children = (children_after.ru_utime + children_after.ru_stime
                    - children_before.ru_utime - children_before.ru_stime) * 1e9
        return {
            "seconds": elapsed,
            "cpu_ns": {g: Group.delta_ns(cpu_before[g], cpu_after[g]) for g in groups},
            "children_cpu_ns": int(children),
            "mysql": self.counter_delta(counters_before, counters_after),
            "requests": self.requests_between(log_before, self.log_len()),
        }

    def page_costs(self):
        """CPU per request of the pages involved (web server + MariaDB), in bursts."""
        groups = {"php": self.php, "mariadbd": self.mariadb}
        costs = {}
        for path, count in (("/", 30), ("/wp-login.php", 60), ("/wp-includes/version.php", 300)):
            self.run_client(self.wp_port, path, 5)
            rounds = []
            for _ in range(3):
                before = {g: group.read() for g, group in groups.items()}
                client = self.run_client(self.wp_port, path, count)
                after = {g: group.read() for g, group in groups.items()}
                rounds.append({g: Group.delta_ns(before[g], after[g]) / client["count"] / 1e3
                               for g in groups})
            costs[path] = rounds
        return costs

    def bill(self):
        a = self.args
        groups = {"php": self.php, "mariadbd": self.mariadb}
        get = lambda path: (lambda: http_status(self.wp_port, path, 5.0))
        env = dict(os.environ, MYSQL_PWD=self.env["WORDPRESS_DB_PASSWORD"])
        exec_probe = lambda: subprocess.run(["sh", "-c", self.exec_command()], env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log("bill: per-request cost of /, /wp-login.php, /wp-includes/version.php")
        result = {"page_costs_us": self.page_costs(), "period_s": 10.0,
                  "web_server": self.env.get("WPENV_SERVER", "php"),
                  "workers": self.env.get("WPENV_PHP_WORKERS")}
        time.sleep(2)
        log(f"bill: {a.bill_baseline} s idle (Apache and MariaDB alone)")
        result["baseline"] = self.periodic_window(a.bill_baseline, [], groups)
        for name, path in (("article", "/"), ("bitnami", "/wp-login.php")):
            log(f"bill: {name}: GET {path} every 10 s for {a.bill_window} s")
            result[name] = self.periodic_window(a.bill_window, [(10.0, get(path))], groups)
        log(f"bill: exec probe every 10 s for {a.bill_window} s")
        result["exec"] = self.periodic_window(a.bill_window, [(10.0, exec_probe)], groups)
        sidecar = self.start_sidecar()
        time.sleep(3)
        log(f"bill: wp-sentinel at its defaults, the manifest's probes to it, {a.bill_sidecar_window} s")
        probes = [(5.0, lambda: http_status(self.sidecar_port, "/readyz")),
                  (10.0, lambda: http_status(self.sidecar_port, "/livez"))]
        with_sidecar = dict(groups, sidecar=Group("sidecar", lambda: [sidecar.pid]))
        result["wp_sentinel"] = self.periodic_window(a.bill_sidecar_window, probes, with_sidecar)
        self.results["bill"] = result
        return sidecar

    def slow_requests(self, count, seconds):
        """Holds `count` connections, each asking for the slow test page."""
        path = f"{self.env.get('WPENV_SLOW_PAGE', '/wpenv-slow.php')}?s={seconds}"

        def hold():
            try:
                with socket.create_connection(("127.0.0.1", self.wp_port), timeout=seconds + 5) as sock:
                    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                    while sock.recv(4096):
                        pass
            except OSError:
                pass

        threads = [threading.Thread(target=hold, daemon=True) for _ in range(count)]
        for thread in threads:
            thread.start()
        return threads

    def restart_web_server(self):
        wpenv = os.path.join(REPO, "scripts", "wpenv.sh")
        subprocess.run([wpenv, "php-stop"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([wpenv, "php-start"], check=True, stdout=subprocess.DEVNULL)

    def detection_at_defaults(self, sidecar):
        """Detection times with the sidecar at its defaults (no kubelet here: the
        time until the sidecar's answer changes)."""
        a = self.args
        # Not as the kubelet: 20 ms polls with its User-Agent would be its restart
        # orders to the healer (failureThreshold failures in a row), and trip the
        # restart-loop breaker within a fraction of a second.
        live = Poller(self.sidecar_port, "/livez", 0.02, agent=BENCH_AGENT)
        ready = Poller(self.sidecar_port, "/readyz", 0.02, agent=BENCH_AGENT)
        live.start()
        ready.start()
        found = {"wedge": [], "missing_tables": [], "db_host_hoge": []}
        workers = int(self.env.get("WPENV_PHP_WORKERS", "4"))
        for index in range(a.wedges):
            log(f"detection at the defaults: every worker stuck, {index + 1}/{a.wedges}")
            if not wait_status(self.sidecar_port, "/livez", 200, 60):
                raise SystemExit("bench: /livez does not pass before the wedge")
            time.sleep(1 + index * 2.3)
            at = time.monotonic()
            self.slow_requests(workers + 2, 60)
            failed = live.first(at, lambda s: s != 200, 40)
            found["wedge"].append(None if failed is None else failed - at)
            self.restart_web_server()
        socket_args = ["mariadb", "-uroot", f"--socket={self.socket}", self.env["WORDPRESS_DB_NAME"], "-e"]
        for index in range(a.table_trials):
            log(f"detection at the defaults: missing tables, {index + 1}/{a.table_trials}")
            if not wait_status(self.sidecar_port, "/readyz", 200, 120):
                raise SystemExit("bench: /readyz does not pass before the tables go")
            time.sleep(1 + index * 7.1)
            at = time.monotonic()
            subprocess.run(socket_args + ["RENAME TABLE wp_options TO wp_options_gone"], check=True)
            failed = ready.first(at, lambda s: s != 200, 90)
            live_failures = sum(1 for s in live.all_since(at, time.monotonic()) if s != 200)
            subprocess.run(socket_args + ["RENAME TABLE wp_options_gone TO wp_options"], check=True)
            found["missing_tables"].append({"readyz_fails_s": None if failed is None else failed - at,
                                            "livez_failures": live_failures})
        template = self.env["WPENV_WP_CONFIG_TEMPLATE"]
        wp_config = self.env["WPENV_WP_CONFIG"]
        for index in range(a.edits):
            log(f"detection at the defaults: DB_HOST 'hoge', {index + 1}/{a.edits}")
            if not wait_status(self.sidecar_port, "/readyz", 200, 120):
                raise SystemExit("bench: /readyz does not pass before the edit")
            time.sleep(0.5 + index * 1.3)
            at = time.monotonic()
            subprocess.run(["sed", "-i", SED_DB_HOST_HOGE, wp_config], check=True)
            failed = live.first(at, lambda s: s != 200, 10)
            deep_error = None
            deadline = at + 70
            while time.monotonic() < deadline:
                body = http_body(self.sidecar_port, "/readyz?verbose")
                if "[-]wordpress failed: WordPress answers 500" in body:
                    deep_error = time.monotonic() - at
                    break
                time.sleep(0.05)
            subprocess.run(["install", "-m", "644", "-o", "www-data", "-g", "www-data", template, wp_config],
                           check=True)
            found["db_host_hoge"].append({"livez_fails_s": None if failed is None else failed - at,
                                          "deep_check_sees_database_error_s": deep_error})
        live.stop()
        ready.stop()
        self.results["detection_at_defaults"] = found

    def mysql_with_tls(self, seconds):
        """The MySQL load again with TLS on the server (tls_mode preferred then
        negotiates TLS): a throwaway certificate, the benchmark's own MariaDB
        restarted with it, then restarted without it."""
        cnf = self.env["MYSQL_OWN_CNF"]
        tls_dir = os.path.join(os.path.dirname(cnf), "tls")
        os.makedirs(tls_dir, exist_ok=True)
        key, cert = os.path.join(tls_dir, "server.key"), os.path.join(tls_dir, "server.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        for path in (tls_dir, key, cert):
            os.chmod(path, 0o755 if path == tls_dir else 0o644)
        wpenv = os.path.join(REPO, "scripts", "wpenv.sh")

        def restart_db(tls):
            env = dict(os.environ)
            if tls:
                env.update(WPENV_OWN_DB_SSL_CERT=cert, WPENV_OWN_DB_SSL_KEY=key)
            subprocess.run([wpenv, "db-stop"], check=True, stdout=subprocess.DEVNULL)
            subprocess.run([wpenv, "db-start"], check=True, stdout=subprocess.DEVNULL, env=env)

        try:
            restart_db(True)
            self.overhead = self.counter_overhead()
            have_ssl = subprocess.run(
                ["mariadb", "-uroot", f"--socket={self.socket}", "-Nse", "SELECT @@have_ssl"],
                check=True, capture_output=True, text=True).stdout.strip()
            log(f"MySQL load with TLS on the server (have_ssl {have_ssl}): wp-sentinel at its defaults, {seconds} s")
            sidecar = self.start_sidecar()
            time.sleep(3)
            window = self.periodic_window(seconds, [], {"sidecar": Group("sidecar", lambda: [sidecar.pid]),
                                                        "mariadbd": self.mariadb})
            stop(sidecar)
            window["have_ssl"] = have_ssl
            self.results["mysql_tls"] = window
        finally:
            restart_db(False)
            self.overhead = self.counter_overhead()

    def run(self):
        self.overhead = self.counter_overhead()
        self.results["counter_read_overhead"] = self.overhead
        binary = os.stat(self.bin).st_size
        self.results["binary_bytes"] = binary
        phases = self.args.phases.split(",")
        if "probe" in phases:
            self.per_probe()
        if "quiet" in phases:
            self.quiet()
        if "startup" in phases:
            self.startup()
        if "bill" in phases:
            sidecar = self.bill()
            self.detection_at_defaults(sidecar)
            stop(sidecar)
            self.mysql_with_tls(self.args.bill_tls_window)
        if "capacity" in phases or "detection" in phases:
            sidecar = self.capacity() if "capacity" in phases else self.start_sidecar()
            if "detection" in phases:
                self.detection(sidecar)
            stop(sidecar)
        self.results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        self.results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]


def machine():
    info = {"cores": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        info["loadavg_start"] = open("/proc/loadavg").read().split()[:3]
        info["kernel"] = os.uname().release
    except OSError:
        pass
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", required=True, help="the env file scripts/wpenv.sh up wrote")
    parser.add_argument("--target", required=True, help="CARGO_TARGET_DIR")
    parser.add_argument("--work", required=True, help="scratch directory (logs)")
    parser.add_argument("--out", required=True, help="results JSON")
    parser.add_argument("--oha", required=True, help="path of the oha binary")
    parser.add_argument("--ports", type=int, nargs=4, default=[8291, 8292, 8293, 8294],
                        metavar=("SIDECAR", "FLOOR", "HYPER", "HYPER_1THREAD"))
    parser.add_argument("--phases", default="probe,quiet,startup,capacity,detection,bill",
                        help="which phases to run (for trying the script out)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n-page", type=int, default=60)
    parser.add_argument("--n-login", type=int, default=100)
    parser.add_argument("--n-exec", type=int, default=40)
    parser.add_argument("--n-fast", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--n-block", type=int, default=300)
    parser.add_argument("--quiet", type=float, default=60)
    parser.add_argument("--quiet-baseline", type=float, default=30)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--wrk-seconds", type=int, default=3)
    parser.add_argument("--wrk-connections", type=int, default=16)
    parser.add_argument("--wrk-repeats", type=int, default=3)
    parser.add_argument("--rate-seconds", type=int, default=5)
    parser.add_argument("--rate-repeats", type=int, default=3)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--outages", type=int, default=3)
    parser.add_argument("--bill-window", type=float, default=60)
    parser.add_argument("--bill-sidecar-window", type=float, default=240)
    parser.add_argument("--bill-baseline", type=float, default=60)
    parser.add_argument("--wedges", type=int, default=3)
    parser.add_argument("--bill-tls-window", type=float, default=120)
    parser.add_argument("--table-trials", type=int, default=2)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args)
    try:
        bench.run()
    finally:
        stop_all()
    with open(args.out, "w") as handle:
        json.dump(bench.results, handle, indent=1)
    log(f"results: {args.out}")


if __name__ == "__main__":
    main()
