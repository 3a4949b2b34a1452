"""Measure Lambda binaries under a loopback Lambda Runtime API.

Serves the Runtime API (`GET /2018-06-01/runtime/invocation/next`, `POST
.../invocation/<id>/response`, `.../error`, `/runtime/init/error`) on
127.0.0.1, starts each binary as Lambda would (AWS_LAMBDA_RUNTIME_API and
the function variables in its environment) and feeds it API Gateway HTTP
API (v2) events, one at a time. Per binary and run:

- init: from spawning the process to its first `/next` request (what Lambda
  reports as Init Duration, bar the download of the code);
- latency of each invocation: from the moment the event has been written
  to the runtime until its response arrives (warm invocations: the first
  is reported apart, as `first`);
- RSS: VmRSS (and VmHWM, the peak) from /proc/<pid>/status after the last
  invocation;
- the binary's size on disk.

Each spec runs `--runs` fresh processes of `--invocations` invocations
(the runs of all specs interleaved); the figures are medians over the runs. Every response must have the
expected status, else the run fails.

Usage:
  python scripts/lambda_bench.py [--runs 3] [--invocations 400] [--json OUT] \\
      [--env KEY=VALUE ...] NAME=BINARY:METHOD:PATH:STATUS [...]

e.g. organisations=target/release/organisations:GET:/v1/organisations:401
The environment of each binary is this process's plus the --env pairs.
With --moto, the script starts scripts/moto_serial.py on a free port (run
it with the moto venv's python: .tools/moto/bin/python), creates a signing
secret there and points the binaries at it (AWS_ENDPOINT_URL, dummy
credentials, SUNDIAL_SIGNING_KEY_SECRET_ARN and the other SUNDIAL_*
variables), so the real AWS SDK path runs without AWS.
"""

import argparse
import http.server
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import tempfile
import sys
import threading
import time
import uuid

API = "/2018-06-01"


def now():
    return time.perf_counter_ns()


def http_v2_event(method, path):
    """An API Gateway HTTP API (payload 2.0) event without credentials."""
    request_id = str(uuid.uuid4())
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "host": "api.example.com",
            "user-agent": "lambda-bench",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "lambda-bench",
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "29/Mar/2026:06:30:00 +0000",
            "timeEpoch": 1774765800000,
        },
        "isBase64Encoded": False,
    }


class RuntimeApi:
    """One loopback Runtime API serving one function process at a time."""

    def __init__(self):
        self.events = queue.Queue()
        self.results = queue.Queue()
        self.first_next = None
        self.sent_at = {}
        self.pid = None
        self.init_cpu_ms = None
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # One write per response and no Nagle delay: small writes
                # would otherwise meet the runtime's delayed ACK (40 ms).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def reply(self, status, body=b"", headers=()):
                lines = ["HTTP/1.1 %d %s" % (status, self.responses.get(status, ("",))[0])]
                lines += ["%s: %s" % header for header in headers]
                lines.append("Content-Length: %d" % len(body))
                self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
                self.wfile.flush()

            def read_body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self):
                if self.path != API + "/runtime/invocation/next":
                    self.reply(404)
                    return
                if api.first_next is None:
                    api.first_next = now()
                    api.init_cpu_ms = cpu_ms(api.pid)
                events = api.events  # this run's: a stale waiter of a killed process gets its stop marker
                event = events.get()
                if event is None:  # the run is over: the process is killed
                    self.reply(500)
                    return
                request_id, body = event
                deadline = int(time.time() * 1000) + 30_000
                self.reply(
                    200,
                    body,
                    [
                        ("Content-Type", "application/json"),
                        ("Lambda-Runtime-Aws-Request-Id", request_id),
                        ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                        ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench"),
                        ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
                    ],
                )
                api.sent_at[request_id] = now()

            def do_POST(self):
                arrived = now()
                body = self.read_body()
                parts = self.path[len(API) :].strip("/").split("/")
                if parts[:2] == ["runtime", "invocation"] and len(parts) == 4:
                    request_id, kind = parts[2], parts[3]
                    self.reply(202)
                    api.results.put((request_id, kind, arrived, body))
                elif parts[:2] == ["runtime", "init"]:
                    self.reply(202)
                    api.results.put((None, "init-error", arrived, body))
                else:
                    self.reply(404)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a killed process's connection: nothing to report

        self.server = Server(("127.0.0.1", 0), Handler)
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self, pid=None):
        self.pid = pid
        self.init_cpu_ms = None
        self.events = queue.Queue()
        self.results = queue.Queue()
        self.first_next = None
        self.sent_at = {}


def percentile(values, p):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(p / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def cpu_ms(pid):
    """CPU time the process's threads have run so far (schedstat, ns precision)."""
    if pid is None:
        return None
    total = 0
    try:
        for task in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, task)) as stat:
                total += int(stat.read().split()[0])
    except OSError:
        return None
    return total / 1e6


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[name] = int(value.split()[0]) / 1024.0  # kB -> MiB
    return fields


def kill(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def one_run(api, spec, env, invocations, timeout):
    api.reset()
    method, path, status = spec["method"], spec["path"], spec["status"]
    log = tempfile.TemporaryFile()
    started = now()
    # A session of its own, so that killing its group also ends what a
    # wrapper (strace, perf) started.
    process = subprocess.Popen(
        [spec["binary"]], env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
    )
    api.pid = process.pid
    try:
        latencies = []
        for i in range(invocations):
            request_id = str(uuid.uuid4())
            body = json.dumps(http_v2_event(method, path)).encode()
            api.events.put((request_id, body))
            try:
                got_id, kind, arrived, payload = api.results.get(timeout=timeout)
            except queue.Empty:
                raise RuntimeError("%s: no response within %ss (invocation %d)" % (spec["name"], timeout, i))
            if kind != "response" or got_id != request_id:
                raise RuntimeError("%s: %s for invocation %d: %s" % (spec["name"], kind, i, payload[:500]))
            answer = json.loads(payload)
            while request_id not in api.sent_at:  # the writer thread stamps it just after the write
                time.sleep(0)
            if answer.get("statusCode") != status:
                raise RuntimeError(
                    "%s: status %s, expected %s: %s" % (spec["name"], answer.get("statusCode"), status, payload[:500])
                )
            latencies.append((arrived - api.sent_at[request_id]) / 1e6)
        memory = proc_status(process.pid)
        init_ms = (api.first_next - started) / 1e6
    except RuntimeError as failure:
        kill(process)
        log.seek(0)
        raise RuntimeError("%s\n--- function output (tail) ---\n%s" % (failure, log.read().decode(errors="replace")[-2000:]))
    finally:
        kill(process)
        api.events.put(None)  # release a /next the process left waiting
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
    warm = latencies[1:] or latencies
    return {
        "init_ms": init_ms,
        "init_cpu_ms": api.init_cpu_ms or 0.0,
        "first_ms": latencies[0],
        "p50_ms": percentile(warm, 50),
        "p99_ms": percentile(warm, 99),
        "rss_mib": memory.get("VmRSS", 0.0),
        "hwm_mib": memory.get("VmHWM", 0.0),
        "rss_anon_mib": memory.get("RssAnon", 0.0),
        "rss_file_mib": memory.get("RssFile", 0.0),
        "output_tail": output[-400:],
    }


def parse_spec(text):
    name, _, rest = text.partition("=")
    binary, method, path, status = rest.rsplit(":", 3)
    return {"name": name, "binary": binary, "method": method, "path": path, "status": int(status)}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(env):
    """moto on a free port with a signing secret; returns (process, extra env)."""
    import boto3  # the moto venv has it

    port = free_port()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    moto = subprocess.Popen(
        [sys.executable, os.path.join(root, "scripts", "moto_serial.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = "http://127.0.0.1:%d" % port
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    secrets = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    arn = secrets.create_secret(Name="bench-signing-%s" % uuid.uuid4().hex, SecretString="k" * 64)["ARN"]
    extra = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "SUNDIAL_TABLE": "bench",
        "SUNDIAL_BUCKET": "bench",
        "SUNDIAL_MAIL_FROM": "noreply@example.com",
        "SUNDIAL_APP_URL": "https://app.example.com",
        "SUNDIAL_SIGNING_KEY_SECRET_ARN": arn,
        "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH": "true",
        "TABLE_NAME": "bench",
    }
    return moto, extra


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--invocations", type=int, default=400)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--moto", action="store_true", help="start moto and point the binaries at it")
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    parser.add_argument("specs", nargs="+", metavar="NAME=BINARY:METHOD:PATH:STATUS")
    args = parser.parse_args()

    api = RuntimeApi()
    env = dict(os.environ)
    # As in Lambda: no backtrace capture (anyhow would capture one per error).
    for name in ("RUST_BACKTRACE", "RUST_LIB_BACKTRACE"):
        env.pop(name, None)
    moto = None
    if args.moto:
        moto, extra = start_moto(env)
        env.update(extra)
    env.update(dict(pair.split("=", 1) for pair in args.env))
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        }
    )
    env.setdefault("RUST_LOG", "info")  # as template.yaml deploys it

    specs = [parse_spec(text) for text in args.specs]
    runs = {spec["name"]: [] for spec in specs}
    results = {}
    try:
        # Runs interleave the binaries, so a busier moment of the machine
        # does not fall on one of them only.
        for _ in range(args.runs):
            for spec in specs:
                spec_env = dict(env, AWS_LAMBDA_FUNCTION_NAME=spec["name"])
                runs[spec["name"]].append(one_run(api, spec, spec_env, args.invocations, args.timeout))
        for spec in specs:
            done = runs[spec["name"]]
            median = {key: statistics.median(run[key] for run in done) for key in done[0] if key != "output_tail"}
            median["binary_mib"] = os.path.getsize(spec["binary"]) / (1024.0 * 1024.0)
            median["binary_bytes"] = os.path.getsize(spec["binary"])
            median["runs"] = done
            results[spec["name"]] = median
    finally:
        if moto is not None:
            moto.kill()
            moto.wait()

    header = "%-16s %8s %8s %9s %8s %8s %8s %8s %9s" % (
        "function", "init ms", "init CPU", "first ms", "p50 ms", "p99 ms", "RSS MiB", "HWM MiB", "bin MiB"
    )
    print("medians of %d runs of %d invocations" % (args.runs, args.invocations))
    print(header)
    for name, r in results.items():
        print(
            "%-16s %8.1f %8.1f %9.2f %8.3f %8.3f %8.1f %8.1f %9.1f"
            % (
                name,
                r["init_ms"],
                r["init_cpu_ms"],
                r["first_ms"],
                r["p50_ms"],
                r["p99_ms"],
                r["rss_mib"],
                r["hwm_mib"],
                r["binary_mib"],
            )
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
