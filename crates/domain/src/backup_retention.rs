//! Which backups to keep: the newest of each of the last N days, M weeks
//! (ISO weeks) and K months that have a backup, all in UTC, and always the
//! newest backup of all, whatever the policy says.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

/// The period a backup falls in: (year, day, week or month number).
type PeriodOf = fn(&Timestamp) -> (i32, i32);

/// The indexes into `taken` (backup times, any order, duplicates allowed)
/// of the backups to keep.
pub fn keep(taken: &[Timestamp], policy: Policy) -> BTreeSet<usize> {
    let mut order: Vec<usize> = (0..taken.len()).collect();
    // Newest first; ties by index so the result does not depend on the
    // sort's stability.
    order.sort_by(|&a, &b| taken[b].cmp(&taken[a]).then(a.cmp(&b)));
    let mut kept = BTreeSet::new();
    if let Some(&newest) = order.first() {
        kept.insert(newest);
    }
    let periods: [(u32, PeriodOf); 3] = [
        (policy.daily, |t| {
            let d = t.to_zoned_datetime(TimeZone::UTC).date();
            (i32::from(d.year()), i32::from(d.day_of_year()))
        }),
        (policy.weekly, |t| {
            let w = t.to_zoned_datetime(TimeZone::UTC).date().iso_week_date();
            (i32::from(w.year()), i32::from(w.week()))
        }),
        (policy.monthly, |t| {
            let d = t.to_zoned_datetime(TimeZone::UTC).date();
            (i32::from(d.year()), i32::from(d.month()))
        }),
    ];
    for (count, period_of) in periods {
        let mut seen: Option<(i32, i32)> = None;
        let mut periods_kept = 0u32;
        for &i in &order {
            if periods_kept >= count {
                break;
            }
            let p = period_of(&taken[i]);
            // Newest first, so the first backup of a new period is that
            // period's newest.
            if seen != Some(p) {
                seen = Some(p);
                kept.insert(i);
                periods_kept += 1;
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn keeps_the_newest_of_each_day_week_and_month() {
        let taken: Vec<Timestamp> = [
            "2026-11-28T03:00:00Z", // 0 today
            "2026-11-28T01:00:00Z", // 1 today, older
            "2026-11-27T03:00:00Z", // 2 yesterday
            "2026-11-26T03:00:00Z", // 3
            "2026-11-20T03:00:00Z", // 4 last week (ISO week 47)
            "2026-11-19T03:00:00Z", // 5 same week, older
            "2026-10-31T03:00:00Z", // 6 October
            "2026-10-02T03:00:00Z", // 7 October, older
            "2026-09-15T03:00:00Z", // 8 September
        ]
        .iter()
        .map(|s| ts(s))
        .collect();
        let policy = Policy {
            daily: 2,
            weekly: 2,
            monthly: 3,
        };
        let kept: Vec<usize> = keep(&taken, policy).into_iter().collect();
        // Days: 0, 2. Weeks: 0 (week 48), 4 (week 47). Months: 0, 6, 8.
        assert_eq!(kept, vec![0, 2, 4, 6, 8]);
    }

    #[test]
    fn a_zero_policy_still_keeps_the_newest() {
        let taken = vec![ts("2026-01-01T00:00:00Z"), ts("2026-02-01T00:00:00Z")];
        let none = Policy {
            daily: 0,
            weekly: 0,
            monthly: 0,
        };
        assert_eq!(keep(&taken, none).into_iter().collect::<Vec<_>>(), vec![1]);
        assert!(keep(&[], none).is_empty());
    }

    fn times() -> impl Strategy<Value = Vec<Timestamp>> {
        // About three years of backups, several a day at most.
        proptest::collection::vec(1_700_000_000i64..1_795_000_000, 0..200).prop_map(|v| {
            v.into_iter()
                .map(|s| Timestamp::from_second(s).unwrap())
                .collect()
        })
    }

    fn policies() -> impl Strategy<Value = Policy> {
        (0u32..10, 0u32..6, 0u32..14).prop_map(|(daily, weekly, monthly)| Policy {
            daily,
            weekly,
            monthly,
        })
    }

    proptest! {
        #[test]
        fn never_more_than_the_policy_allows_and_always_the_newest(
            taken in times(), policy in policies()
        ) {
            let kept = keep(&taken, policy);
            let limit = (policy.daily + policy.weekly + policy.monthly).max(1) as usize;
            prop_assert!(kept.len() <= limit.min(taken.len()));
            if let Some(newest) = taken.iter().max() {
                prop_assert!(kept.iter().any(|&i| taken[i] == *newest));
            }
        }

        #[test]
        fn every_recent_day_keeps_its_newest_backup(taken in times(), daily in 1u32..10) {
            let policy = Policy { daily, weekly: 0, monthly: 0 };
            let kept = keep(&taken, policy);
            let day = |t: &Timestamp| t.to_zoned_datetime(TimeZone::UTC).date();
            let mut days: Vec<_> = taken.iter().map(day).collect();
            days.sort();
            days.dedup();
            for d in days.iter().rev().take(daily as usize) {
                let newest = taken.iter().filter(|t| day(t) == *d).max().unwrap();
                prop_assert!(kept.iter().any(|&i| taken[i] == *newest), "day {d} lost its newest");
            }
        }

        #[test]
        fn pruning_twice_removes_nothing_more(taken in times(), policy in policies()) {
            let kept: Vec<Timestamp> = keep(&taken, policy).into_iter().map(|i| taken[i]).collect();
            let again = keep(&kept, policy);
            prop_assert_eq!(again.len(), kept.len());
        }
    }
}
