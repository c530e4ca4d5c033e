//! A result passed on as the bytes it was stored as.
//!
//! The gateway answers `RunScenario` with the result a worker stored in the
//! job's record. Decoding that result only to encode it again for the call
//! was a quarter of the gateway's CPU under load (a SUMMARY is ~26 KB of
//! nested messages; a FULL result can be megabytes). So
//! [`RunScenarioResponse`] is written by hand rather than generated: on the
//! wire it is the proto's message, field for field, and it can carry its
//! result either decoded (`result`, what a decode gives) or as the encoded
//! bytes of a `ScenarioResult` (`encoded_result`, sent as they are).
//! [`take_field`] cuts such bytes out of a stored message, [`find_field`]
//! finds them without copying the rest.

use prost::{
    DecodeError, Message,
    bytes::{Buf, BufMut, Bytes},
    encoding::{self, DecodeContext, WireType},
};

use crate::v1::ScenarioResult;

/// `tariff.v1.RunScenarioResponse`.
#[derive(Clone, PartialEq, Default)]
pub struct RunScenarioResponse {
    /// Field 1.
    pub job_id: String,
    /// Field 2, decoded. A decoded response has it here.
    pub result: Option<ScenarioResult>,
    /// Field 2 as the encoding of a `ScenarioResult`, sent in place of
    /// `result` when set. Never set by a decode.
    pub encoded_result: Option<Bytes>,
}

impl std::fmt::Debug for RunScenarioResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunScenarioResponse")
            .field("job_id", &self.job_id)
            .field("result", &self.result)
            .field("encoded_result", &self.encoded_result.as_ref().map(|b| format!("{} bytes", b.len())))
            .finish()
    }
}

const JOB_ID: u32 = 1;
const RESULT: u32 = 2;

impl Message for RunScenarioResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        if !self.job_id.is_empty() {
            encoding::string::encode(JOB_ID, &self.job_id, buf);
        }
        match (&self.encoded_result, &self.result) {
            // A message field's wire form is its encoding, length-delimited:
            // the same bytes as a `bytes` field's.
            (Some(encoded), _) => encoding::bytes::encode(RESULT, encoded, buf),
            (None, Some(result)) => encoding::message::encode(RESULT, result, buf),
            (None, None) => {}
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        match tag {
            JOB_ID => encoding::string::merge(wire_type, &mut self.job_id, buf, ctx),
            RESULT => encoding::message::merge(
                wire_type,
                self.result.get_or_insert_with(ScenarioResult::default),
                buf,
                ctx,
            ),
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        let job_id =
            if self.job_id.is_empty() { 0 } else { encoding::string::encoded_len(JOB_ID, &self.job_id) };
        let result = match (&self.encoded_result, &self.result) {
            (Some(encoded), _) => encoding::bytes::encoded_len(RESULT, encoded),
            (None, Some(result)) => encoding::message::encoded_len(RESULT, result),
            (None, None) => 0,
        };
        job_id + result
    }

    fn clear(&mut self) {
        *self = RunScenarioResponse::default();
    }
}

/// Why [`take_field`] could not cut a field out.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    #[error("not a protobuf message: {0}")]
    Decode(#[from] DecodeError),
    #[error("field {0} runs past the end of the message")]
    Short(u32),
    /// A decode would merge the copies: they are not one encoding.
    #[error("field {0} is given more than once")]
    Repeated(u32),
}

/// Cuts field `tag` (length-delimited, at most once) out of an encoded
/// message: the message without it, and the field's contents, which share
/// `message`'s memory. `None` for the contents when the field is absent.
pub fn take_field(message: &Bytes, tag: u32) -> Result<(Vec<u8>, Option<Bytes>), FieldError> {
    let mut rest = Vec::with_capacity(message.len().min(4096));
    let taken = walk(message, tag, Some(&mut rest))?;
    Ok((rest, taken))
}

/// Field `tag`'s contents (length-delimited, at most once), sharing
/// `message`'s memory, without copying the rest anywhere.
pub fn find_field(message: &Bytes, tag: u32) -> Result<Option<Bytes>, FieldError> {
    walk(message, tag, None)
}

/// Goes over the top-level fields of `message`: field `tag`'s contents, and
/// every other field copied to `rest` when given.
fn walk(message: &Bytes, tag: u32, mut rest: Option<&mut Vec<u8>>) -> Result<Option<Bytes>, FieldError> {
    let mut taken = None;
    let mut buf = message.clone();
    while buf.has_remaining() {
        let start = message.len() - buf.remaining();
        let (field, wire_type) = encoding::decode_key(&mut buf)?;
        if field == tag && wire_type == WireType::LengthDelimited {
            let len =
                usize::try_from(encoding::decode_varint(&mut buf)?).map_err(|_| FieldError::Short(tag))?;
            if len > buf.remaining() {
                return Err(FieldError::Short(tag));
            }
            if taken.is_some() {
                return Err(FieldError::Repeated(tag));
            }
            taken = Some(buf.split_to(len));
        } else {
            encoding::skip_field(wire_type, field, &mut buf, DecodeContext::default())?;
            if let Some(rest) = rest.as_deref_mut() {
                rest.extend_from_slice(&message[start..message.len() - buf.remaining()]);
            }
        }
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::v1::{Impact, Job, JobState};

    fn result() -> ScenarioResult {
        ScenarioResult {
            scenario_id: "s".into(),
            impacts: vec![Impact { date: "2025-04-05".into(), ..Impact::default() }],
            ..ScenarioResult::default()
        }
    }

    #[test]
    fn the_encoded_result_goes_out_as_the_decoded_one_would() {
        let decoded =
            RunScenarioResponse { job_id: "j".into(), result: Some(result()), encoded_result: None };
        let passed = RunScenarioResponse {
            job_id: "j".into(),
            result: None,
            encoded_result: Some(Bytes::from(result().encode_to_vec())),
        };
        assert_eq!(decoded.encode_to_vec(), passed.encode_to_vec());
        assert_eq!(passed.encoded_len(), passed.encode_to_vec().len());
        let back = RunScenarioResponse::decode(passed.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back, decoded);
    }

    #[test]
    fn a_stored_record_splits_into_the_rest_and_its_result() {
        let job = Job {
            job_id: "j".into(),
            state: JobState::Succeeded.into(),
            result: Some(result()),
            attempts: 2,
            ..Job::default()
        };
        let stored = Bytes::from(job.encode_to_vec());
        let (rest, taken) = take_field(&stored, 4).unwrap();
        let without = Job::decode(rest.as_slice()).unwrap();
        assert_eq!(without, Job { result: None, ..job.clone() });
        assert_eq!(ScenarioResult::decode(taken.unwrap()).unwrap(), result());
        assert_eq!(find_field(&stored, 4).unwrap(), Some(Bytes::from(result().encode_to_vec())));
        let (rest, taken) = take_field(&Bytes::from(without.encode_to_vec()), 4).unwrap();
        assert!(taken.is_none());
        assert_eq!(Job::decode(rest.as_slice()).unwrap(), without);
    }

    #[test]
    fn a_field_given_twice_or_cut_short_is_refused() {
        let once = Job { job_id: "j".into(), result: Some(result()), ..Job::default() }.encode_to_vec();
        let tail = Job { result: Some(result()), ..Job::default() }.encode_to_vec();
        let twice = Bytes::from([once.clone(), tail].concat());
        assert!(take_field(&twice, 4).is_err());
        assert!(find_field(&twice, 4).is_err());
        let short = Bytes::from(once[..once.len() - 3].to_vec());
        assert!(take_field(&short, 4).is_err());
    }
}
