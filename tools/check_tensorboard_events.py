#!/usr/bin/python3
"""Checks that TensorBoard's own reader reads back every scalar SharpSeg's TensorBoardWriter writes.

A verification tool: build and test never run it. It needs no PyPI (TensorBoard comes from its git repository).

Reproduce:
  1. Debian packages (the pure-Python reading stack and `tensorboard --logdir`'s HTTP server):
       apt-get install -y protobuf-compiler python3-protobuf python3-absl python3-numpy python3-six \
           python3-packaging python3-werkzeug python3-markdown python3-bleach python3-grpcio python3-grpc-tools
  2. A snapshot of github:tensorflow/tensorboard as a bare git directory (the `fetch` tool gives
     /work/.mirror/tensorflow+tensorboard/repo; `git clone --bare https://github.com/tensorflow/tensorboard` works too),
     holding commit TENSORBOARD_COMMIT below (TensorBoard 2.22.0a0, 2026-06-30). With the fetched snapshot, `git archive`
     prints "error: invalid object … for 'docs/tensorboard_profiling_keras.ipynb'" (a blob outside tensorboard/ that the
     snapshot lacks) and still exits 0 with every file under tensorboard/.
  3. /usr/bin/python3 tools/check_tensorboard_events.py --tensorboard-git /work/.mirror/tensorflow+tensorboard/repo

What it does:
  * extracts `tensorboard/` of TENSORBOARD_COMMIT into /tmp/tensorboard-src (--tensorboard-src), compiles its
    *.proto files with protoc into *_pb2.py and its gRPC services with grpc_tools into *_pb2_grpc.py; nothing is
    written into this repository unless --update-golden is given (then the checked golden run's file and the restart
    run's second file become tests/SharpSeg.Training.Tests/Golden/tensorboard/{scalars,purge_step}.tfevents);
  * builds and runs tools/tensorboard_check (a small C# program using SharpSeg.Training) to write five runs under
    /tmp/tensorboard-runs (--runs): edge (awkward tags, steps, values: NaN, ±inf, -0, subnormal, int64 steps,
    a 205-byte tag, non-ASCII tags, 500 points of one tag), golden (the scalars of the committed golden file),
    resume (two event files in one run), restart (a second file whose purge step must hide steps 4-6 of the first)
    and train (a real Segmenter.Train(useVdl: true), saveDir/vdl_log);
  * reads each run with four TensorBoard readers and compares every tag, step, float32 value (bit for bit) and wall
    time with what was written (for the train run: with saveDir/metrics.jsonl, the other log of the same values);
    the record reader must see every scalar in the files, the others exactly those no purge step hides:
      records      tensorboard.compat.tensorflow_stub PyRecordReader_New, both CRCs checked, to the end of every file;
      accumulator  backend.event_processing.event_accumulator.EventAccumulator (keeps every scalar);
      ingester     the `tensorboard --logdir` path: plugin_event_multiplexer with data_ingester's size guidance, read
                   through MultiplexerDataProvider.read_scalars as the scalars plugin does;
      http         `python3 -m tensorboard.main --logdir <runs> --load_fast=false` and GET
                   /data/plugin/scalars/scalars?run=…&tag=… (the route the dashboard's charts use);
  * fails on any difference, and on any TensorBoard log line about CRC/data loss or truncated records (TensorBoard's
    loader swallows a failed CRC at debug level and silently drops the rest of the file); purge warnings are allowed
    only because the restart run asks for one, and the exact comparisons show what was purged.
Exit status 0 = every reader read everything back exactly.
"""

import argparse
import json
import logging
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request

TENSORBOARD_COMMIT = "70b76c922822dcccc3e8d7e5dd89860948690357"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRITER_PROJECT = os.path.join(REPO, "tools", "tensorboard_check")
GOLDEN_FOLDER = os.path.join(REPO, "tests", "SharpSeg.Training.Tests", "Golden", "tensorboard")
# golden file name -> (run, index of the event file in name order) of the checked runs it is copied from.
GOLDEN_FILES = {"scalars.tfevents": ("golden", 0), "purge_step.tfevents": ("restart", 1)}
SUSPICIOUS_LOG_TEXT = ("crc", "dataloss", "data loss", "truncated", "purg", "out of order", "corrupt")


def prepare_tensorboard(git_dir, source):
    if os.path.exists(os.path.join(source, "tensorboard", "data", "proto", "data_provider_pb2_grpc.py")):
        return
    if not git_dir:
        sys.exit(f"{source} holds no prepared TensorBoard; pass --tensorboard-git <bare git dir of tensorflow/tensorboard>")
    os.makedirs(source, exist_ok=True)
    archive = subprocess.Popen(["git", f"--git-dir={git_dir}", "archive", TENSORBOARD_COMMIT, "tensorboard"], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", source], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        sys.exit(f"git archive of {TENSORBOARD_COMMIT} from {git_dir} failed")
    protos = [os.path.join(d, f) for d, _, files in os.walk(os.path.join(source, "tensorboard")) for f in files if f.endswith(".proto")]
    protos = [os.path.relpath(p, source) for p in protos]
    subprocess.run(["protoc", "-I.", "--python_out=."] + protos, cwd=source, check=True)
    services = [p for p in protos if any(line.startswith("service ") for line in open(os.path.join(source, p), encoding="utf-8"))]
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I.", "--grpc_python_out=."] + services, cwd=source, check=True)


def write_runs(runs):
    subprocess.run(["dotnet", "build", WRITER_PROJECT, "-c", "Release", "--nologo", "-v", "quiet"], check=True)
    dll = os.path.join(WRITER_PROJECT, "bin", "Release", "net10.0", "TensorBoardCheckWriter.dll")
    subprocess.run(["dotnet", dll, runs], check=True)


def float32_bits(value):
    return struct.unpack("<I", struct.pack("<f", value))[0]


def expected_scalars(runs, run):
    """Two lists of (tag, step, float32 bits, wall time or None) in writing order, for the run folder `run` under `runs`:
    every scalar in the files, and those TensorBoard shows (without the ones a later purge step hides)."""
    folder = os.path.join(runs, run)
    listing = os.path.join(folder, "expected.json")
    if os.path.exists(listing):
        entries = json.load(open(listing, encoding="utf-8"))
        written = [(e["tag"], int(e["step"]), e["float32_bits"], e["wall_time"]) for e in entries]
        return written, [w for w, e in zip(written, entries) if not e["hidden"]]
    # A Segmenter.Train run: the same values went to saveDir/metrics.jsonl, with Train/* at the global step and
    # Evaluation/* at the epoch. Wall times are the real clock's, so they are not compared.
    expected = []
    for line in open(os.path.join(os.path.dirname(folder), "metrics.jsonl"), encoding="utf-8"):
        entry = json.loads(line)
        if entry["event"] == "train":
            expected.append(("Train/loss", entry["step"], float32_bits(entry["loss"]), None))
            expected.append(("Train/lr", entry["step"], float32_bits(entry["learning_rate"]), None))
        elif entry["event"] == "evaluation":
            for name, value in entry["metrics"].items():
                expected.append((f"Evaluation/{name}", entry["epoch"], float32_bits(value), None))
    return expected, expected


def compare(reader, run, expected, actual):
    """actual: tag -> [(wall_time, step, value)] in TensorBoard's order. Returns a list of differences."""
    problems = []
    by_tag = {}
    for tag, step, bits, wall in expected:
        by_tag.setdefault(tag, []).append((wall, step, bits))
    if set(by_tag) != set(actual):
        problems.append(f"{reader} {run}: tags {sorted(actual)} != written {sorted(by_tag)}")
    for tag in sorted(set(by_tag) & set(actual)):
        want, got = by_tag[tag], actual[tag]
        if len(want) != len(got):
            problems.append(f"{reader} {run} {tag}: {len(got)} points read, {len(want)} written")
        for (wall, step, bits), (got_wall, got_step, got_value) in zip(want, got):
            got_bits = float32_bits(got_value)
            same_value = got_bits == bits or (math.isnan(got_value) and math.isnan(struct.unpack("<f", struct.pack("<I", bits))[0]))
            if got_step != step or not same_value or (wall is not None and got_wall != wall):
                problems.append(f"{reader} {run} {tag}: read (wall {got_wall!r}, step {got_step}, value {got_value!r} = 0x{got_bits:08X}),"
                                f" written (wall {wall!r}, step {step}, 0x{bits:08X})")
    return problems


def read_records(run_folder):
    """Every record of every event file through TensorBoard's CRC-checking reader; the parsed events in order."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow
    from tensorboard.backend.event_processing import io_wrapper
    events, problems = [], []
    files = sorted(f for f in os.listdir(run_folder) if io_wrapper.IsTensorFlowEventsFile(f))
    for name in files:
        reader = pywrap_tensorflow.PyRecordReader_New(os.path.join(run_folder, name))
        count = 0
        while True:
            try:
                reader.GetNext()
            except errors.OutOfRangeError:
                break
            except errors.DataLossError as error:
                problems.append(f"records {name}: {error}")
                break
            event = event_pb2.Event.FromString(reader.record())
            if count == 0 and event.file_version != "brain.Event:2":
                problems.append(f"records {name}: first event's file_version is {event.file_version!r}")
            events.append(event)
            count += 1
        with open(os.path.join(run_folder, name), "rb") as f:
            size = len(f.read())
        print(f"  records     {name}: {count} records, {size} bytes, both CRCs of each checked")
    scalars = {}
    for event in events:
        for value in event.summary.value:
            scalars.setdefault(value.tag, []).append((event.wall_time, event.step, value.simple_value))
    return scalars, problems


def read_accumulator(run_folder):
    from tensorboard.backend.event_processing import event_accumulator
    accumulator = event_accumulator.EventAccumulator(run_folder, size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()
    problems = [] if accumulator.file_version == 2.0 else [f"accumulator: file_version {accumulator.file_version}"]
    return {tag: [(e.wall_time, e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}, problems


def read_ingester(runs):
    """What `tensorboard --logdir runs` serves, read the way its scalars plugin reads it."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_ingester, data_provider, plugin_event_multiplexer
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        size_guidance=data_ingester.DEFAULT_SIZE_GUIDANCE, tensor_size_guidance=dict(data_ingester.DEFAULT_TENSOR_SIZE_GUIDANCE),
        purge_orphaned_data=True)
    multiplexer.AddRunsFromDirectory(runs)
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, runs)
    data = provider.read_scalars(context.RequestContext(), experiment_id="", plugin_name="scalars", downsample=1000)
    return {run: {tag: [(d.wall_time, d.step, d.value) for d in series] for tag, series in tags.items()} for run, tags in data.items()}


def read_http(runs, source, run_names):
    """Starts `python3 -m tensorboard.main --logdir runs` and reads every run and tag from its HTTP API."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_path = os.path.join(runs, "..", "tensorboard-server.log")
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", runs, "--port", str(port), "--host", "127.0.0.1",
                                   "--load_fast=false", "--reload_interval=0", "--verbosity=0"], cwd=source, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"

    def get(route):
        with urllib.request.urlopen(base + route, timeout=30) as response:
            return json.loads(response.read())

    try:
        deadline = time.time() + 120
        while True:
            try:
                if sorted(get("/data/runs")) == sorted(run_names):
                    break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"tensorboard.main did not serve the runs {run_names}; see {log_path}")
            time.sleep(0.5)
        tags = get("/data/plugin/scalars/tags")
        print(f"  http        {base}/data/plugin/scalars/tags lists {sum(len(t) for t in tags.values())} tags in {len(tags)} runs")
        result = {}
        for run, run_tags in tags.items():
            for tag in run_tags:
                query = urllib.parse.urlencode({"run": run, "tag": tag})
                points = get(f"/data/plugin/scalars/scalars?{query}")
                result.setdefault(run, {})[tag] = [(wall, step, float(value)) for wall, step, value in points]
        return result
    finally:
        server.terminate()
        server.wait()
        server_log = open(log_path, encoding="utf-8").read()
        print("  http        server log: " + " | ".join(line for line in server_log.splitlines() if line.strip())[:400])


def show(run, scalars):
    for tag in sorted(scalars):
        points = scalars[tag]
        listed = points if len(points) <= 8 else points[:4] + [("…",)] + points[-3:]
        text = ", ".join("…" if len(p) == 1 else f"{p[1]}:{p[2]!r}" for p in listed)
        print(f"    {run} {tag!r}: {len(points)} points (step:value) {text}")


class LogCollector(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.suspicious = []

    def emit(self, record):
        message = record.getMessage()
        if record.levelno >= logging.WARNING or any(word in message.lower() for word in SUSPICIOUS_LOG_TEXT):
            self.suspicious.append(f"{record.levelname} {record.name}: {message}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tensorboard-git", help="bare git directory of github:tensorflow/tensorboard holding TENSORBOARD_COMMIT")
    parser.add_argument("--tensorboard-src", default="/tmp/tensorboard-src", help="where TensorBoard is extracted and its protos compiled")
    parser.add_argument("--runs", default="/tmp/tensorboard-runs", help="where the C# writer writes the runs (replaced)")
    parser.add_argument("--no-write", action="store_true", help="check the runs already under --runs instead of writing them")
    parser.add_argument("--no-http", action="store_true", help="skip starting tensorboard.main")
    parser.add_argument("--update-golden", action="store_true", help="copy checked event files to " + GOLDEN_FOLDER)
    args = parser.parse_args()

    prepare_tensorboard(args.tensorboard_git, args.tensorboard_src)
    sys.path.insert(0, args.tensorboard_src)
    import tensorboard.version
    print(f"TensorBoard {tensorboard.version.VERSION} at commit {TENSORBOARD_COMMIT} from {args.tensorboard_src}")
    collector = LogCollector()
    tensorboard_logger = logging.getLogger("tensorboard")
    tensorboard_logger.setLevel(logging.DEBUG)
    tensorboard_logger.addHandler(collector)

    if not args.no_write:
        write_runs(args.runs)
    run_names = sorted(os.path.relpath(d, args.runs) for d, _, files in os.walk(args.runs) if any("tfevents" in f for f in files))
    written, expected = {}, {}
    for run in run_names:
        written[run], expected[run] = expected_scalars(args.runs, run)
    problems = []

    for run in run_names:
        print(f"run {run}: {len(written[run])} scalars written, {len(written[run]) - len(expected[run])} of them hidden by a purge step")
        records, found = read_records(os.path.join(args.runs, run))
        problems += found + compare("records", run, written[run], records)
        accumulated, found = read_accumulator(os.path.join(args.runs, run))
        problems += found + compare("accumulator", run, expected[run], accumulated)
        print(f"  accumulator {len(accumulated)} tags, {sum(len(p) for p in accumulated.values())} points, file_version 2")

    ingested = read_ingester(args.runs)
    print(f"ingester: runs {sorted(ingested)}")
    problems += [f"ingester: runs {sorted(ingested)} != {run_names}"] if sorted(ingested) != run_names else []
    for run in run_names:
        problems += compare("ingester", run, expected[run], ingested.get(run, {}))

    if not args.no_http:
        print("http: tensorboard.main")
        served = read_http(args.runs, args.tensorboard_src, run_names)
        for run in run_names:
            problems += compare("http", run, expected[run], served.get(run, {}))
            print(f"  read back over HTTP from run {run}:")
            show(run, served.get(run, {}))

    # TensorBoard announces a purge with a warning; the exact comparisons above show it removed only the hidden points.
    purging = any(len(written[run]) != len(expected[run]) for run in run_names)
    problems += [f"log: {line}" for line in collector.suspicious if not (purging and "Purging" in line and "expired" in line)]
    if problems:
        print(f"FAILED: {len(problems)} problems")
        for problem in problems[:50]:
            print("  " + problem)
        return 1
    readers = "records, accumulator, ingester" + ("" if args.no_http else ", http")
    print(f"OK: {sum(len(e) for e in written.values())} scalars in {len(run_names)} runs read back exactly by {readers}; no CRC or data-loss messages; points purged only where a purge step asked")
    if args.update_golden:
        os.makedirs(GOLDEN_FOLDER, exist_ok=True)
        for golden, (run, index) in GOLDEN_FILES.items():
            events_file = sorted(f for f in os.listdir(os.path.join(args.runs, run)) if "tfevents" in f)[index]
            shutil.copyfile(os.path.join(args.runs, run, events_file), os.path.join(GOLDEN_FOLDER, golden))
            print(f"copied {run}/{events_file} to {os.path.join(GOLDEN_FOLDER, golden)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
