//! A table of firmware objects of one type: numbers unique within the type
//! (24-bit, from 1, never a live one; 0 stays unused, since drivers take 0
//! for "none"), and a limit from the capability that sizes it.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use cxu_hal::ifc::CmdStatus;

use super::{syndrome, CmdError};

/// Live objects of one type, by number.
#[derive(Clone, Debug)]
pub struct Objects<T> {
    live: BTreeMap<u32, T>,
    last: u32,
    /// The largest number (the field's width).
    max_number: u32,
    /// How many may exist at once.
    limit: usize,
    /// The smallest number handed out.
    min_number: u32,
}

impl<T> Objects<T> {
    /// An empty table of at most `limit` objects numbered up to `max_number`.
    pub fn new(limit: usize, max_number: u32) -> Self {
        Objects {
            live: BTreeMap::new(),
            last: 0,
            max_number,
            limit,
            min_number: 1,
        }
    }

    /// The same table with numbers up to `n` never handed out (numbers
    /// firmware reserves).
    pub fn reserving_through(mut self, n: u32) -> Self {
        self.last = n;
        self.min_number = n + 1;
        self
    }

    /// Adds `v` under a fresh number; LIM when the table is full.
    pub fn insert(&mut self, v: T) -> Result<u32, CmdError> {
        if self.live.len() >= self.limit {
            return Err(CmdError::new(CmdStatus::LIM_ERR, syndrome::OBJECT_LIMIT));
        }
        for _ in 0..=self.live.len() {
            self.last = if self.last >= self.max_number {
                self.min_number
            } else {
                self.last + 1
            };
            if !self.live.contains_key(&self.last) {
                self.live.insert(self.last, v);
                return Ok(self.last);
            }
        }
        Err(CmdError::new(CmdStatus::LIM_ERR, syndrome::OBJECT_LIMIT))
    }

    /// The object `n`.
    pub fn get(&self, n: u32) -> Option<&T> {
        self.live.get(&n)
    }

    /// The object `n`, or BAD_RES.
    pub fn get_mut(&mut self, n: u32) -> Result<&mut T, CmdError> {
        self.live.get_mut(&n).ok_or_else(not_found)
    }

    /// Whether `n` exists.
    pub fn contains(&self, n: u32) -> bool {
        self.live.contains_key(&n)
    }

    /// Removes `n`; BAD_RES if it does not exist.
    pub fn remove(&mut self, n: u32) -> Result<T, CmdError> {
        self.live.remove(&n).ok_or_else(not_found)
    }

    /// The live objects.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.live.iter().map(|(&n, v)| (n, v))
    }

    /// How many are live.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// The numbers of the live objects.
    pub fn numbers(&self) -> Vec<u32> {
        self.live.keys().copied().collect()
    }
}

/// BAD_RES: no such object.
pub fn not_found() -> CmdError {
    CmdError::new(CmdStatus::BAD_RES_ERR, syndrome::OBJECT_NOT_FOUND)
}

/// RES_BUSY: another object still refers to this one.
pub fn in_use() -> CmdError {
    CmdError::new(CmdStatus::RES_BUSY, syndrome::OBJECT_IN_USE)
}

/// BAD_PARAM: a referenced object does not exist.
pub fn bad_reference() -> CmdError {
    CmdError::bad_param(syndrome::BAD_REFERENCE)
}

/// BAD_PARAM: a context field the model does not support.
pub fn bad_field() -> CmdError {
    CmdError::bad_param(syndrome::BAD_CONTEXT_FIELD)
}
