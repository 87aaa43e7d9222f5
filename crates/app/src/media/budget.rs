//! The memory photo decodes may take at once. Decoding a photo for its thumbnail allocates its
//! whole bitmap (width × height × 4 bytes and more for 16-bit PNGs): a 139 KB PNG of 7000 ×
//! 7000 pixels becomes 196 MB, and sixteen uploaded together took a server from 161 MB to
//! 2.3 GB. Each decode first takes its share of a fixed budget (`limits.decode_memory_mib`)
//! and waits while others hold it; a decode larger than the whole budget takes all of it, so
//! at most one such runs.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes per pixel a decode is charged: RGBA with 16 bits per channel, the widest bitmap the
/// accepted formats decode to.
pub const BYTES_PER_PIXEL: u64 = 8;

const MIB: u64 = 1 << 20;

/// A budget of MiB shared by every decode of the process.
#[derive(Debug, Clone)]
pub struct DecodeBudget {
    permits: Arc<Semaphore>,
    total_mib: u32,
}

/// A share of the budget, given back when dropped.
#[derive(Debug)]
pub struct DecodeShare {
    _permit: OwnedSemaphorePermit,
    /// The MiB held.
    pub mib: u32,
}

impl DecodeBudget {
    /// A budget of `total_mib` MiB.
    #[must_use]
    pub fn new(total_mib: u32) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(total_mib as usize)),
            total_mib,
        }
    }

    /// The MiB a decode of `width` × `height` pixels is charged (at least 1, at most the
    /// whole budget).
    #[must_use]
    pub fn charge(&self, width: u32, height: u32) -> u32 {
        let bytes = u64::from(width) * u64::from(height) * BYTES_PER_PIXEL;
        let mib = bytes.div_ceil(MIB).max(1);
        u32::try_from(mib).unwrap_or(u32::MAX).min(self.total_mib)
    }

    /// Waits for the share of a decode of `width` × `height` pixels.
    pub async fn reserve(&self, width: u32, height: u32) -> DecodeShare {
        let mib = self.charge(width, height);
        // The semaphore is never closed, so acquiring only waits.
        let permit = self
            .permits
            .clone()
            .acquire_many_owned(mib)
            .await
            .unwrap_or_else(|_| unreachable!("the decode budget is never closed"));
        DecodeShare {
            _permit: permit,
            mib,
        }
    }

    /// MiB free now.
    #[must_use]
    pub fn available_mib(&self) -> usize {
        self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn decodes_wait_for_their_share_and_give_it_back() {
        assert_eq!(
            DecodeBudget::new(1024).charge(7000, 7000),
            374,
            "7000 × 7000 × 8 bytes, rounded up"
        );
        let b = DecodeBudget::new(256);
        assert_eq!(b.charge(7000, 7000), 256, "at most the whole budget");
        assert_eq!(b.charge(1, 1), 1);
        let big = b.reserve(20_000, 20_000).await;
        assert_eq!(big.mib, 256, "more than the budget takes all of it");
        assert_eq!(b.available_mib(), 0);
        // A second decode waits until the first is done.
        let b2 = b.clone();
        let waiting = tokio::spawn(async move { b2.reserve(1000, 1000).await.mib });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(big);
        assert_eq!(waiting.await.unwrap(), 8);
        assert_eq!(b.available_mib(), 256);
    }
}
