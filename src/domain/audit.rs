//! The audit trail's hash chain. Each row's hash covers the previous row's hash and the row's
//! stored fields exactly as stored, so verification never depends on re-serialising JSON.

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A row's fields as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow<'a> {
    pub id: i64,
    pub release_id: Option<i64>,
    pub at: &'a str,
    pub actor_json: &'a str,
    pub action: &'a str,
    pub detail_json: &'a str,
}

/// SHA-256 (hex) over the previous hash and the row, fields separated by newlines (none of the
/// fields can hold a raw newline: JSON escapes them, and `at` and `action` are ours).
pub fn chain_hash(prev_hash: &str, row: &StoredRow) -> String {
    let mut h = Sha256::new();
    for part in [
        prev_hash,
        &row.id.to_string(),
        &row.release_id.map(|r| r.to_string()).unwrap_or_default(),
        row.at,
        row.actor_json,
        row.action,
        row.detail_json,
    ] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("row {id} is not where the chain expects it: ids jump from {previous} to {id}, so rows were deleted or reordered")]
    Gap { previous: i64, id: i64 },
    #[error("row {id} does not follow row {previous}: its prev_hash is not that row's hash")]
    Link { previous: i64, id: i64 },
    #[error("row {id} was altered: its content no longer matches its hash")]
    Content { id: i64 },
}

/// Checks rows in id order, starting from the genesis; returns the head hash and row count.
pub fn verify<'a>(rows: impl IntoIterator<Item = (StoredRow<'a>, &'a str, &'a str)>) -> Result<(usize, String), ChainBreak> {
    let (mut previous_id, mut previous_hash, mut count) = (0_i64, GENESIS.to_string(), 0);
    for (row, prev_hash, hash) in rows {
        if row.id != previous_id + 1 {
            return Err(ChainBreak::Gap { previous: previous_id, id: row.id });
        }
        if prev_hash != previous_hash {
            return Err(ChainBreak::Link { previous: previous_id, id: row.id });
        }
        if chain_hash(prev_hash, &row) != hash {
            return Err(ChainBreak::Content { id: row.id });
        }
        previous_id = row.id;
        previous_hash = hash.to_string();
        count += 1;
    }
    Ok((count, previous_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, detail: &str) -> StoredRow<'_> {
        StoredRow { id, release_id: Some(1), at: "t", actor_json: "{}", action: "a", detail_json: detail }
    }

    #[test]
    fn a_chain_verifies_and_each_kind_of_tampering_is_named() {
        let h1 = chain_hash(GENESIS, &row(1, "{}"));
        let h2 = chain_hash(&h1, &row(2, "{}"));
        let h3 = chain_hash(&h2, &row(3, "{}"));
        assert_eq!(
            verify([
                (row(1, "{}"), GENESIS, h1.as_str()),
                (row(2, "{}"), h1.as_str(), h2.as_str()),
                (row(3, "{}"), h2.as_str(), h3.as_str())
            ]),
            Ok((3, h3.clone()))
        );
        assert_eq!(verify([(row(1, "{\"x\":1}"), GENESIS, h1.as_str())]), Err(ChainBreak::Content { id: 1 }));
        assert_eq!(
            verify([(row(1, "{}"), GENESIS, h1.as_str()), (row(3, "{}"), h2.as_str(), h3.as_str())]),
            Err(ChainBreak::Gap { previous: 1, id: 3 })
        );
        assert_eq!(
            verify([(row(1, "{}"), GENESIS, h1.as_str()), (row(2, "{}"), GENESIS, h2.as_str())]),
            Err(ChainBreak::Link { previous: 1, id: 2 })
        );
    }
}
