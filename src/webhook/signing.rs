//! Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-id`,
//! `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
//! Secrets are `whsec_<base64>`; a `Secret` never shows its bytes in Debug output or logs.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// How far a signed timestamp may be from now, either way.
pub const TOLERANCE_SECS: i64 = 5 * 60;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a webhook secret starts with `whsec_` followed by base64")]
    Format,
    #[error("a webhook secret needs at least 24 bytes after `whsec_` (the Standard Webhooks minimum)")]
    TooShort,
}

impl Secret {
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.trim().strip_prefix("whsec_").ok_or(SecretError::Format)?;
        let bytes = BASE64.decode(encoded).map_err(|_| SecretError::Format)?;
        if bytes.len() < 24 {
            return Err(SecretError::TooShort);
        }
        Ok(Self(bytes))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; new_from_slice cannot fail for it.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` header value for one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", BASE64.encode(self.mac(id, timestamp, body).finalize().into_bytes()))
    }

    /// Checks a signed message: the timestamp within `TOLERANCE_SECS` of `now`, and one of the
    /// space-separated `v1,` signatures matching (compared in constant time).
    pub fn verify(&self, id: &str, timestamp: &str, signatures: &str, body: &[u8], now: i64) -> Result<(), VerifyError> {
        let ts: i64 = timestamp.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
        if (now - ts).abs() > TOLERANCE_SECS {
            return Err(VerifyError::OutOfTolerance);
        }
        let matches = signatures.split_whitespace().filter_map(|s| s.strip_prefix("v1,")).any(|sig| match BASE64.decode(sig) {
            Ok(bytes) => self.mac(id, ts, body).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        });
        if matches {
            Ok(())
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is more than 5 minutes from now")]
    OutOfTolerance,
    #[error("webhook-signature does not match the body")]
    Mismatch,
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn key() -> Secret {
        Secret::parse(KEY).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn signs_the_published_test_vector() {
        assert_eq!(key().sign(ID, TS, BODY), EXPECTED);
    }

    #[test]
    fn verifies_the_vector_and_refuses_tampering_and_old_timestamps() {
        let k = key();
        assert_eq!(k.verify(ID, "1614265330", &format!("v1,bogus {EXPECTED}"), BODY, TS + 10), Ok(()));
        assert_eq!(k.verify(ID, "1614265330", EXPECTED, br#"{"test": 1}"#, TS), Err(VerifyError::Mismatch));
        assert_eq!(k.verify(ID, "1614265330", EXPECTED, BODY, TS + 301), Err(VerifyError::OutOfTolerance));
        assert_eq!(k.verify(ID, "soon", EXPECTED, BODY, TS), Err(VerifyError::BadTimestamp));
    }

    #[test]
    fn secrets_must_be_whsec_base64_and_never_print() {
        assert_eq!(Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Err(SecretError::Format));
        assert_eq!(Secret::parse("whsec_!!!"), Err(SecretError::Format));
        assert_eq!(Secret::parse("whsec_c2hvcnQ="), Err(SecretError::TooShort));
        // 20 bytes: below the Standard Webhooks minimum of 24.
        assert_eq!(Secret::parse("whsec_c2VjcmV0LXRoYXQtaXMtd3Jvbmc="), Err(SecretError::TooShort));
        assert_eq!(format!("{:?}", key()), "Secret(<redacted>)");
    }
}
