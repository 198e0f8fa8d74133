//! The global in-flight memory budget (the OpenTelemetry Collector's `memory_limiter`, by
//! bytes): every request reserves what it holds — body bytes as they arrive, decompressed
//! bytes as gunzip produces them, the work of indexing — and gives it back when it is done.
//! A request that cannot reserve is refused with 429 / `UNAVAILABLE` and a retry delay, so
//! many concurrent requests cost at most the budget, whatever they hold.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes held by requests being received or processed, across HTTP and gRPC.
#[derive(Debug)]
pub struct InflightBudget {
    held: AtomicUsize,
    limit: usize,
}

impl InflightBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<InflightBudget> {
        Arc::new(InflightBudget {
            held: AtomicUsize::new(0),
            limit,
        })
    }

    /// The budget, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved right now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// An empty reservation, to [`Reservation::grow`].
    pub fn reservation(self: &Arc<Self>) -> Reservation {
        Reservation {
            budget: Arc::clone(self),
            bytes: 0,
        }
    }

    /// Reserve `bytes`, or `None` when that would exceed the budget.
    pub fn try_reserve(self: &Arc<Self>, bytes: usize) -> Option<Reservation> {
        let mut reservation = self.reservation();
        reservation.grow(bytes).then_some(reservation)
    }

    fn take(&self, bytes: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }
}

/// Bytes reserved from an [`InflightBudget`], given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<InflightBudget>,
    bytes: usize,
}

impl Reservation {
    /// Reserve `more` bytes; `false` (and nothing more reserved) when the budget is exhausted.
    pub fn grow(&mut self, more: usize) -> bool {
        if more == 0 {
            return true;
        }
        let ok = self.budget.take(more);
        if ok {
            self.bytes += more;
        }
        ok
    }

    /// Make the reservation at least `total` bytes.
    pub fn grow_to(&mut self, total: usize) -> bool {
        self.grow(total.saturating_sub(self.bytes))
    }

    /// The whole budget this reservation draws from, in bytes.
    pub fn limit(&self) -> usize {
        self.budget.limit
    }

    /// Bytes reserved.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_bounded_and_given_back() {
        let budget = InflightBudget::new(100);
        let mut a = budget.try_reserve(60).unwrap();
        assert!(budget.try_reserve(50).is_none());
        assert!(!a.grow(41));
        assert!(a.grow(40));
        assert_eq!(budget.held(), 100);
        assert!(!budget.reservation().grow(1));
        drop(a);
        assert_eq!(budget.held(), 0);
        let mut b = budget.reservation();
        assert!(b.grow_to(30) && b.grow_to(20) && b.bytes() == 30);
    }
}
