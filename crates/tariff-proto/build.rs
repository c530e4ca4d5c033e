//! Compiles `proto/tariff/v1` with protox (pure Rust, so no `protoc` is needed),
//! generates the prost messages, the tonic client and server, proto3 JSON (serde)
//! impls with pbjson, and writes the encoded descriptor set for server reflection.

use std::{env, path::PathBuf};

use prost::Message;

const PROTO_ROOT: &str = "../../proto";
const PROTO_FILES: &[&str] = &[
    "tariff/v1/scenario.proto",
    "tariff/v1/dataset.proto",
    "tariff/v1/result.proto",
    "tariff/v1/job.proto",
    "tariff/v1/service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed={PROTO_ROOT}");

    let fds = protox::compile(PROTO_FILES, [PROTO_ROOT])?;
    let descriptor_bytes = fds.encode_to_vec();
    std::fs::write(out_dir.join("tariff_descriptor.bin"), &descriptor_bytes)?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Written by hand, to pass a stored result on without decoding it (src/passthrough.rs).
        .extern_path(".tariff.v1.RunScenarioResponse", "crate::passthrough::RunScenarioResponse")
        .compile_fds(fds)?;

    pbjson_build::Builder::new()
        .register_descriptors(&descriptor_bytes)?
        .exclude([".tariff.v1.RunScenarioResponse"])
        .preserve_proto_field_names()
        // Results read better with every figure present, zeros included.
        .emit_fields()
        .build(&[".tariff.v1"])?;
    Ok(())
}
