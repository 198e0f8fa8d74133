//! The hand-off between the listing threads and the reading threads: batches of files worth
//! opening, taken as soon as they are listed (reading starts while the tree is still being
//! listed), until the listing is done.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, PoisonError};

/// Files a listing thread hands over at a time (few enough to keep the readers' loads even).
pub(super) const BATCH: usize = 16;

/// A queue of batches, closed when the listing ends.
pub(super) struct Batches<T> {
    state: Mutex<(VecDeque<Vec<T>>, bool)>,
    ready: Condvar,
}

impl<T> Batches<T> {
    pub(super) fn new() -> Self {
        Batches {
            state: Mutex::new((VecDeque::new(), false)),
            ready: Condvar::new(),
        }
    }

    /// Hand over a batch (an empty one is dropped).
    pub(super) fn push(&self, batch: Vec<T>) {
        if batch.is_empty() {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0.push_back(batch);
        drop(state);
        self.ready.notify_one();
    }

    /// No more batches: waiting readers take what is left, then stop.
    pub(super) fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.1 = true;
        drop(state);
        self.ready.notify_all();
    }

    /// The next batch, waiting for one while the queue is open; `None` once it is closed and
    /// empty.
    pub(super) fn pop(&self) -> Option<Vec<T>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(batch) = state.0.pop_front() {
                return Some(batch);
            }
            if state.1 {
                return None;
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Closes the queue when dropped, so readers never wait forever (a listing that panics
/// still lets them stop).
pub(super) struct CloseOnDrop<'a, T>(pub(super) &'a Batches<T>);

impl<T> Drop for CloseOnDrop<'_, T> {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_take_every_batch_pushed_before_and_after_they_wait() {
        let q: Batches<u32> = Batches::new();
        q.push(vec![1, 2]);
        q.push(Vec::new());
        let taken = std::thread::scope(|s| {
            let readers: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| {
                        let mut got = Vec::new();
                        while let Some(b) = q.pop() {
                            got.extend(b);
                        }
                        got
                    })
                })
                .collect();
            for i in 0..100 {
                q.push(vec![10 + i]);
            }
            q.close();
            let mut all: Vec<u32> = readers
                .into_iter()
                .flat_map(|r| r.join().unwrap())
                .collect();
            all.sort_unstable();
            all
        });
        let mut want = vec![1, 2];
        want.extend(10..110);
        assert_eq!(taken, want);
        assert_eq!(q.pop(), None);
    }
}
