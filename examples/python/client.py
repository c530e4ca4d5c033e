#!/usr/bin/env python3
"""The scenario service's gRPC API from Python (grpcio), in the order a client
meets it: the same flow as examples/rust-client.

1. Generate the message and stub modules from proto/tariff/v1/*.proto with
   grpcio-tools, into a temporary folder, at start: nothing generated is kept
   or committed, and the stubs always match the protos of this checkout.
2. SubmitScenario: queue a scenario, read from a proto3 JSON file (those under
   scenarios/) or built in code, and get a job id back at once.
3. WatchJob: a server stream of the job's state and progress, printed as it
   arrives, until the job ends.
4. GetJob: fetch the finished job's result and print a short summary: welfare
   by economy and the sectors whose trade moved most.

A bearer token is sent on every call when TARIFF_TOKEN is set (a gateway
started with tokens requires one). Any failure ends the program with a
one-line error and exit status 1.

    python client.py --addr 127.0.0.1:50051
    python client.py --scenario ../../scenarios/japan-20.json
"""

import argparse
import os
import pathlib
import shutil
import sys
import tempfile
import time

import grpc
from google.protobuf import json_format

HERE = pathlib.Path(__file__).resolve().parent
FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


class Failure(Exception):
    """An error for people: printed as one line, exit status 1."""


def generate_stubs(proto_dir: pathlib.Path, out_dir: pathlib.Path) -> None:
    """Runs protoc (bundled in grpcio-tools) on the tariff.v1 protos and makes
    the generated `tariff.v1` package importable."""
    import grpc_tools
    from grpc_tools import protoc

    protos = sorted(str(p) for p in (proto_dir / "tariff" / "v1").glob("*.proto"))
    if not protos:
        raise Failure(f"no .proto files under {proto_dir}/tariff/v1 (see --proto-dir)")
    # The well-known types (google/protobuf/*.proto) ship inside grpcio-tools.
    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-I{proto_dir}", f"-I{well_known}",
            f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", *protos]
    if protoc.main(args) != 0:
        raise Failure(f"protoc could not compile the protos under {proto_dir}")
    sys.path.insert(0, str(out_dir))


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Submit a tariff scenario to a gateway, watch it run, print its result.")
    parser.add_argument("--addr", default=os.environ.get("TARIFF_GATEWAY_ADDR", "http://127.0.0.1:50051"),
                        help="the gateway, as http://HOST:PORT or HOST:PORT "
                             "(default: $TARIFF_GATEWAY_ADDR or http://127.0.0.1:50051)")
    parser.add_argument("--scenario", type=pathlib.Path, metavar="PATH",
                        help="a scenario file in proto3 JSON (such as scenarios/universal-20.json); "
                             "without it: the US adds 20%% on every import, built in code")
    parser.add_argument("--timeout", type=float, default=120, metavar="SECS",
                        help="give up after this many seconds (the job goes on on the gateway)")
    parser.add_argument("--proto-dir", type=pathlib.Path, default=HERE.parent.parent / "proto",
                        help="the folder holding tariff/v1/*.proto (default: the checkout's proto/)")
    args = parser.parse_args()

    out_dir = pathlib.Path(tempfile.mkdtemp(prefix="tariff-stubs-"))
    try:
        generate_stubs(args.proto_dir, out_dir)
        run(args)
        return 0
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    # Imported here: these modules exist only once generate_stubs has run.
    from tariff.v1 import job_pb2, result_pb2, scenario_pb2, service_pb2, service_pb2_grpc

    scenario = read_scenario(args.scenario, scenario_pb2) if args.scenario else universal_tariff(
        "USA", 20.0, scenario_pb2)
    # Every call gets the time left of one deadline over the whole flow, so a
    # stuck gateway fails the run instead of hanging it.
    deadline = time.monotonic() + args.timeout

    def left() -> float:
        return max(deadline - time.monotonic(), 0.0)

    # The token travels as call metadata; it comes from the environment and
    # not from a flag, as with tariffctl: flags show in process listings.
    token = os.environ.get("TARIFF_TOKEN", "").strip()
    metadata = [("authorization", f"Bearer {token}")] if token else []

    # grpcio takes HOST:PORT; a plaintext channel (the embedded gateway speaks
    # no TLS; grpc.secure_channel is the one for https).
    target = args.addr.split("://", 1)[-1]
    with grpc.insecure_channel(target) as channel:
        # Connect now, so a wrong address is reported as such, within seconds.
        try:
            grpc.channel_ready_future(channel).result(timeout=min(5.0, left()))
        except grpc.FutureTimeoutError:
            raise Failure(f"cannot connect to the gateway at {args.addr} (is it running?)") from None
        client = service_pb2_grpc.ScenarioServiceStub(channel)

        # SubmitScenario answers at once with a job id; the job runs on a
        # worker. SUMMARY: we print totals only, so the result need not carry
        # every bilateral flow (FULL would). An idempotency key would make a
        # retried submission return the same job rather than queue a second one.
        request = service_pb2.SubmitScenarioRequest(
            scenario=scenario, view=result_pb2.ResultOptions(view=result_pb2.RESULT_VIEW_SUMMARY))
        submitted = call("SubmitScenario", client.SubmitScenario, request, metadata=metadata, timeout=left())
        job_id = submitted.job_id
        print(f"submitted job {job_id}", flush=True)

        # WatchJob streams the job's record each time its state or progress
        # changes, and ends after the final state (SUCCEEDED, FAILED, CANCELLED).
        last = None
        stream = client.WatchJob(service_pb2.WatchJobRequest(job_id=job_id), metadata=metadata, timeout=left())
        try:
            for job in stream:
                print(progress_line(job, job_pb2), flush=True)
                last = job
                if job_pb2.JobState.Name(job.state) in FINAL_STATES:
                    break
        except grpc.RpcError as e:
            raise refused("WatchJob", e) from None
        finally:
            stream.cancel()
        if last is None:
            raise Failure(f"the gateway ended the watch of job {job_id} without a word")
        state = job_pb2.JobState.Name(last.state)
        if state == "FAILED":
            raise Failure(f"job {job_id} failed: {last.error.code}: {last.error.message}")
        if state != "SUCCEEDED":
            raise Failure(f"job {job_id} ended {state}")

        # The watch's last message carries the result already; GetJob is how a
        # client that was not watching (or another process) collects it later.
        job = call("GetJob", client.GetJob, service_pb2.GetJobRequest(job_id=job_id),
                   metadata=metadata, timeout=left())
        if not job.HasField("result"):
            raise Failure(f"job {job_id} succeeded without a result")
        print_summary(job.result)


def call(name, method, request, **kwargs):
    """A unary call, its gRPC error turned into a Failure."""
    try:
        return method(request, **kwargs)
    except grpc.RpcError as e:
        raise refused(name, e) from None


def refused(name: str, error: grpc.RpcError) -> Failure:
    """A gRPC status as one line: the call, the gateway's message (which names
    the field at fault for INVALID_ARGUMENT) and the code."""
    code = error.code()
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return Failure(f"{name}: the gateway wants a bearer token: set TARIFF_TOKEN (UNAUTHENTICATED)")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return Failure(f"{name}: no answer within --timeout")
    return Failure(f"{name}: {error.details()} ({code.name})")


def read_scenario(path: pathlib.Path, scenario_pb2):
    """A scenario file: the proto3 JSON form of tariff.v1.Scenario, which
    protobuf's json_format reads (snake_case or lowerCamelCase, enums by name)."""
    try:
        text = path.read_text()
    except OSError as e:
        raise Failure(f"cannot read {path}: {e.strerror}") from None
    try:
        return json_format.Parse(text, scenario_pb2.Scenario())
    except json_format.ParseError as e:
        raise Failure(f"{path}: {e}") from None


def universal_tariff(importer: str, rate_pct: float, scenario_pb2):
    """A scenario in code: `importer` adds `rate_pct` on every good from every
    partner, on the default built-in dataset (empty `dataset`)."""
    return scenario_pb2.Scenario(
        id=f"universal-{rate_pct:g}",
        name=f"{importer} adds {rate_pct:g}% on every import",
        measures=[scenario_pb2.Measure(
            id="surcharge", authority=scenario_pb2.OTHER, importer=importer,
            exporters=["*"], sectors=["*"], mode=scenario_pb2.Measure.ADD, rate_pct=rate_pct)],
    )


def progress_line(job, job_pb2) -> str:
    """`RUNNING  12/40  solve`: the state, then the progress when there is some."""
    state = job_pb2.JobState.Name(job.state)
    p = job.progress
    if p.total > 0:
        return f"  {state:<9} {p.done:>4}/{p.total:<4} {p.stage}"
    return f"  {state}"


def print_summary(result) -> None:
    """The last date's figures: welfare by economy, then the three sectors
    whose imports (summed over every importer) changed most."""
    if not result.impacts:
        raise Failure("the result has no impact")
    impact = result.impacts[-1]
    print(f"result: {result.scenario_name} on {result.dataset} (base year {result.base_year}, "
          f"{result.currency} {result.unit}), at {impact.date}")
    print("welfare by economy (change, % of GDP):")
    for e in impact.economies:
        print(f"  {e.economy:<6} {e.welfare_change:>12.1f} {e.welfare_change_pct_gdp:>8.3f}%")
    # Each sector lists one row per economy; an import's change is counted
    # once, at its importer.
    sectors = []
    for s in impact.sectors:
        before = after = 0.0
        for e in s.economies:
            before += e.imports.before
            after += e.imports.after
        sectors.append((s.sector, before, after))
    sectors.sort(key=lambda t: (-abs(t[2] - t[1]), t[0]))
    print("top sectors by change in imports (change, %):")
    for sector, before, after in sectors[:3]:
        pct = 0.0 if before == 0.0 else (after / before - 1.0) * 100.0
        print(f"  {sector:<12} {after - before:>12.1f} {pct:>8.2f}%")


if __name__ == "__main__":
    sys.exit(main())
