//! The `tariff.v1` protobuf contract: messages, the `ScenarioService` client and
//! server, proto3 JSON, and the encoded descriptor set that server reflection serves.

pub mod json;

/// Generated code of the `tariff.v1` package, with proto3 JSON (serde) impls.
pub mod v1 {
    #![allow(clippy::all, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    #![allow(missing_debug_implementations)]
    include!(concat!(env!("OUT_DIR"), "/tariff.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/tariff.v1.serde.rs"));
}

/// The encoded `FileDescriptorSet` of every `tariff.v1` file.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tariff_descriptor.bin"));
