//! Small maps with one entry per check ([`PerCheck`]) and per probe ([`PerProbe`]):
//! indexed by the identity, never by a position, and always complete (an entry for
//! every check or probe, so no lookup can miss).

use std::ops::{Index, IndexMut};

use super::{CheckName, Probe, N_CHECKS};

/// One `T` for each check, indexed by [`CheckName`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerCheck<T>([T; N_CHECKS]);

impl<T> PerCheck<T> {
    /// The entry of each check, from `entry(check)`.
    pub fn from_fn(mut entry: impl FnMut(CheckName) -> T) -> Self {
        PerCheck(CheckName::ALL.map(&mut entry))
    }

    /// A map with `change` applied to every entry.
    pub fn map<U>(&self, mut change: impl FnMut(&T) -> U) -> PerCheck<U> {
        PerCheck::from_fn(|check| change(&self[check]))
    }

    /// Every check with its entry, in [`CheckName::ALL`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (CheckName, &T)> {
        CheckName::ALL.into_iter().zip(self.0.iter())
    }
}

/// In [`CheckName::ALL`]'s order.
impl<T> From<[T; N_CHECKS]> for PerCheck<T> {
    fn from(entries: [T; N_CHECKS]) -> Self {
        PerCheck(entries)
    }
}

impl<T> Index<CheckName> for PerCheck<T> {
    type Output = T;
    fn index(&self, check: CheckName) -> &T {
        &self.0[check.index()]
    }
}

impl<T> IndexMut<CheckName> for PerCheck<T> {
    fn index_mut(&mut self, check: CheckName) -> &mut T {
        &mut self.0[check.index()]
    }
}

/// One `T` for each probe (`/livez`, `/readyz`, `/startupz`), indexed by [`Probe`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PerProbe<T> {
    live: T,
    ready: T,
    startup: T,
}

impl<T> PerProbe<T> {
    /// The entry of each probe, from `entry(probe)`.
    pub fn from_fn(mut entry: impl FnMut(Probe) -> T) -> Self {
        PerProbe {
            live: entry(Probe::Live),
            ready: entry(Probe::Ready),
            startup: entry(Probe::Startup),
        }
    }

    /// Every probe with its entry, in [`Probe::ALL`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (Probe, &T)> {
        Probe::ALL
            .into_iter()
            .map(move |probe| (probe, &self[probe]))
    }
}

impl<T> Index<Probe> for PerProbe<T> {
    type Output = T;
    fn index(&self, probe: Probe) -> &T {
        match probe {
            Probe::Live => &self.live,
            Probe::Ready => &self.ready,
            Probe::Startup => &self.startup,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_check_finds_its_own_entry() {
        let names = PerCheck::from_fn(CheckName::as_str);
        for check in CheckName::ALL {
            assert_eq!(names[check], check.as_str());
        }
        let order: Vec<CheckName> = names.iter().map(|(check, _)| check).collect();
        assert_eq!(order, CheckName::ALL);
        let probes = PerProbe::from_fn(Probe::as_str);
        for probe in Probe::ALL {
            assert_eq!(probes[probe], probe.as_str());
        }
    }
}
