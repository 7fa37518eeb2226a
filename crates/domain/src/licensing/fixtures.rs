//! One fixture per rulebook rule or decision, named after it. Lines: `seats SKU N`, `suspend SKU`,
//! `user NAME LOC|-`, `group NAME [prio=N]`, `member GROUP USER|GROUP`, `unmember …`,
//! `direct USER SKU [-PLAN …]`, `undirect USER SKU`, `license GROUP SKU [-PLAN …]`,
//! `unlicense GROUP SKU`, `delete USER`, `restore USER`, `purge USER`, `location USER LOC|-`.

use super::*;

#[test]
fn g6_one_seat_per_user_however_many_paths() {
    check(
        "seats E3 5
         user alice US
         group a
         group b
         license a E3
         license b E3
         member a alice
         member b alice
         direct alice E3",
        expect![[r#"
            sku E3 consumed 1/5
            alice E3 direct: Active None
            alice E3 a: Active None
            alice E3 b: Active None
        "#]],
    );
}

#[test]
fn g7_d1_enabled_plans_are_the_union_over_paths() {
    let mut w = World::new();
    for l in [
        "seats E3 5",
        "user alice US",
        "group base",
        "group extended",
        "license base E3 -SWAY -YAMMER_ENTERPRISE -PROJECTWORKMANAGEMENT",
        "license extended E3 -EXCHANGE_S_ENTERPRISE -SHAREPOINTENTERPRISE",
        "member base alice",
        "member extended alice",
    ] {
        w.run(l);
    }
    let enabled = w.enabled("alice", w.sku("E3"));
    for p in [
        "SWAY",
        "YAMMER_ENTERPRISE",
        "PROJECTWORKMANAGEMENT",
        "EXCHANGE_S_ENTERPRISE",
        "SHAREPOINTENTERPRISE",
    ] {
        assert!(
            enabled.contains(&p.to_string()),
            "{p} missing from {enabled:?}"
        );
    }
    // G8: disabling a plan on one group does not take it from a user who gets it elsewhere.
    w.run("unmember base alice");
    let enabled = w.enabled("alice", w.sku("E3"));
    assert!(enabled.contains(&"SWAY".to_string()));
    assert!(!enabled.contains(&"EXCHANGE_S_ENTERPRISE".to_string()));
    assert!(w.drift().is_empty());
}

#[test]
fn g12_d5_group_bundle_is_all_or_nothing() {
    check(
        "seats E3 5
         seats EMS 1
         user alice US
         user bob US
         group staff
         license staff E3
         license staff EMS
         member staff alice
         member staff bob",
        expect![[r#"
            sku E3 consumed 1/5
            sku EMS consumed 1/1
            alice E3 staff: Active None
            alice EMS staff: Active None
            bob E3 staff: Error Other (another license assigned by the same group could not be assigned)
            bob EMS staff: Error CountViolation (subscription with SKU efccb6f7-5641-4e0e-bd10-b4976e1bf68e does not have any available licenses)
        "#]],
    );
}

#[test]
fn g12_adding_a_short_product_to_a_group_blocks_the_whole_bundle() {
    check(
        "seats E3 5
         seats EMS 0
         user alice US
         group staff
         license staff E3
         member staff alice
         license staff EMS",
        expect![[r#"
            sku E3 consumed 0/5
            sku EMS consumed 0/0
            alice E3 staff: Error Other (another license assigned by the same group could not be assigned)
            alice EMS staff: Error CountViolation (subscription with SKU efccb6f7-5641-4e0e-bd10-b4976e1bf68e does not have any available licenses)
        "#]],
    );
}

#[test]
fn d3_waiting_user_gets_the_seat_when_another_license_is_removed() {
    check(
        "seats E3 1
         user alice US
         user bob US
         group staff
         license staff E3
         member staff alice
         member staff bob
         unmember staff alice",
        expect![[r#"
            sku E3 consumed 1/1
            bob E3 staff: Active None
        "#]],
    );
}

#[test]
fn d3_waiting_users_heal_when_seats_are_bought() {
    check(
        "seats E3 0
         user alice US
         user bob US
         user carol US
         group staff
         license staff E3
         member staff alice
         member staff bob
         member staff carol
         seats E3 2",
        expect![[r#"
            sku E3 consumed 2/2
            alice E3 staff: Active None
            bob E3 staff: Active None
            carol E3 staff: Error CountViolation (subscription with SKU 6fd2c87f-b296-42f0-b197-1e91e994b900 does not have any available licenses)
        "#]],
    );
}

#[test]
fn d4_higher_priority_group_gets_freed_seats_first() {
    check(
        "seats E3 0
         user alice US
         user bob US
         group low
         group high prio=10
         license low E3
         license high E3
         member low alice
         member high bob
         seats E3 1",
        expect![[r#"
            sku E3 consumed 1/1
            alice E3 low: Error CountViolation (subscription with SKU 6fd2c87f-b296-42f0-b197-1e91e994b900 does not have any available licenses)
            bob E3 high: Active None
        "#]],
    );
}

#[test]
fn d4_earliest_path_first_and_holders_are_never_evicted() {
    check(
        "seats E3 0
         user alice US
         user bob US
         user carol US
         group low
         group high prio=10
         license low E3
         license high E3
         member low bob
         member low alice
         seats E3 1
         member high carol",
        expect![[r#"
            sku E3 consumed 1/1
            alice E3 low: Error CountViolation (subscription with SKU 6fd2c87f-b296-42f0-b197-1e91e994b900 does not have any available licenses)
            bob E3 low: Active None
            carol E3 high: Error CountViolation (subscription with SKU 6fd2c87f-b296-42f0-b197-1e91e994b900 does not have any available licenses)
        "#]],
    );
}

#[test]
fn g14_g16_direct_beside_inherited_adds_plans_and_removing_it_keeps_the_inherited() {
    check(
        "seats E3 5
         user alice US
         group staff
         license staff E3 -YAMMER_ENTERPRISE
         member staff alice
         direct alice E3
         undirect alice E3",
        expect![[r#"
            sku E3 consumed 1/5
            alice E3 staff -YAMMER_ENTERPRISE: Active None
        "#]],
    );
}

#[test]
fn c1_c2_conflicting_plans_across_paths_are_mutually_exclusive() {
    check(
        "seats E1 5
         seats E3 5
         user alice US
         direct alice E1
         group staff
         license staff E3
         member staff alice",
        expect![[r#"
            sku E1 consumed 1/5
            sku E3 consumed 0/5
            alice E1 direct: Active None
            alice E3 staff: Error MutuallyExclusiveViolation (service plans SHAREPOINTENTERPRISE,SHAREPOINTSTANDARD are mutually exclusive)
        "#]],
    );
}

#[test]
fn c3_exchange_plan_1_and_plan_2_stack() {
    check(
        "seats EXO1 5
         seats EXO2 5
         user alice US
         direct alice EXO1
         direct alice EXO2",
        expect![[r#"
            sku EXO1 consumed 1/5
            sku EXO2 consumed 1/5
            alice EXO1 direct: Active None
            alice EXO2 direct: Active None
        "#]],
    );
}

#[test]
fn c1_conflict_heals_when_the_conflicting_license_is_removed() {
    check(
        "seats E1 5
         seats E3 5
         user alice US
         direct alice E1
         group staff
         license staff E3
         member staff alice
         undirect alice E1",
        expect![[r#"
            sku E1 consumed 0/5
            sku E3 consumed 1/5
            alice E3 staff: Active None
        "#]],
    );
}

#[test]
fn g10_g11_dependency_must_be_met_inside_the_group() {
    check(
        "seats E3 5
         seats AC 5
         user alice US
         user bob US
         group audio
         license audio AC
         group full
         license full E3
         license full AC
         member audio alice
         member full bob",
        expect![[r#"
            sku AC consumed 1/5
            sku E3 consumed 1/5
            alice AC audio: Error DependencyViolation (service plan MCOMEETADV depends on the service plan(s) MCOSTANDARD)
            bob AC full: Active None
            bob E3 full: Active None
        "#]],
    );
}

#[test]
fn c4_direct_dependent_plan_needs_its_prerequisite() {
    check(
        "seats AC 5
         seats E3 5
         user alice US
         direct alice AC
         direct alice E3
         direct alice AC",
        expect![[r#"
            sku AC consumed 1/5
            sku E3 consumed 1/5
            alice AC direct: Active None
            alice E3 direct: Active None
            refused: direct alice AC: refused, DependencyViolation: service plan MCOMEETADV depends on the service plan(s) MCOSTANDARD
        "#]],
    );
}

#[test]
fn d12_removing_a_prerequisite_path_leaves_it_active_with_error() {
    check(
        "seats E3 5
         seats AC 5
         user alice US
         group staff
         license staff E3
         member staff alice
         direct alice AC
         unmember staff alice",
        expect![[r#"
            sku AC consumed 1/5
            sku E3 consumed 1/5
            alice AC direct: Active None
            alice E3 staff: ActiveWithError DependencyViolation (service plan MCOMEETADV depends on the service plan(s) MCOSTANDARD)
        "#]],
    );
}

#[test]
fn d12_retained_path_goes_once_the_dependency_is_resolved() {
    check(
        "seats E3 5
         seats AC 5
         user alice US
         group staff
         license staff E3
         member staff alice
         direct alice AC
         unmember staff alice
         direct alice E3",
        expect![[r#"
            sku AC consumed 1/5
            sku E3 consumed 1/5
            alice AC direct: Active None
            alice E3 direct: Active None
        "#]],
    );
}

#[test]
fn u1_u2_direct_assignment_needs_the_users_own_usage_location() {
    check(
        "seats E3 5
         user alice -
         direct alice E3",
        expect![[r#"
            sku E3 consumed 0/5
            refused: direct alice E3: refused, ProhibitedInUsageLocationViolation: the user has no usage location
        "#]],
    );
}

#[test]
fn u3_d6_group_paths_fall_back_to_the_tenant_country() {
    check(
        "seats E3 5
         user alice -
         group staff
         license staff E3
         member staff alice",
        expect![[r#"
            sku E3 consumed 1/5
            alice E3 staff: Active None
        "#]],
    );
}

#[test]
fn u5_prohibited_location_heals_when_the_location_changes() {
    check(
        "seats E5 5
         user alice BN
         group staff
         license staff E5
         member staff alice
         location alice GB",
        expect![[r#"
            sku E5 consumed 1/5
            alice E5 staff: Active None
        "#]],
    );
}

#[test]
fn d7_soft_delete_releases_the_seat_and_restore_waits_when_short() {
    check(
        "seats E3 1
         user alice US
         user bob US
         group staff
         license staff E3
         member staff alice
         member staff bob
         delete alice
         restore alice",
        expect![[r#"
            sku E3 consumed 1/1
            alice E3 staff: Error CountViolation (subscription with SKU 6fd2c87f-b296-42f0-b197-1e91e994b900 does not have any available licenses)
            bob E3 staff: Active None
        "#]],
    );
}

#[test]
fn d8_capacity_drop_evicts_nobody_and_grants_nothing_new() {
    check(
        "seats E3 2
         user alice US
         user bob US
         user carol US
         group staff
         license staff E3
         member staff alice
         member staff bob
         seats E3 1
         member staff carol
         unmember staff alice",
        expect![[r#"
            sku E3 consumed 1/1
            bob E3 staff: Active None
            carol E3 staff: Error CountViolation (subscription with SKU 6fd2c87f-b296-42f0-b197-1e91e994b900 does not have any available licenses)
        "#]],
    );
}

#[test]
fn d8_suspended_units_keep_holders_disabled_and_refuse_newcomers() {
    check(
        "seats E3 1
         user alice US
         user bob US
         group staff
         license staff E3
         member staff alice
         suspend E3
         member staff bob",
        expect![[r#"
            sku E3 consumed 1/0
            alice E3 staff: Disabled None
            bob E3 staff: Error CountViolation (subscription with SKU 6fd2c87f-b296-42f0-b197-1e91e994b900 does not have any available licenses)
        "#]],
    );
}

#[test]
fn d2_nested_group_members_are_licensed_and_cycles_refused() {
    check(
        "seats E3 5
         user alice US
         user bob US
         group parent
         group child
         group grandchild
         license parent E3
         member parent child
         member child grandchild
         member child alice
         member grandchild bob
         member grandchild parent",
        expect![[r#"
            sku E3 consumed 2/5
            alice E3 parent: Active None
            bob E3 parent: Active None
            refused: member grandchild parent: would create a cycle
        "#]],
    );
}

#[test]
fn d2_leaving_the_nested_chain_removes_the_inherited_license() {
    check(
        "seats E3 5
         user alice US
         group parent
         group child
         license parent E3
         member parent child
         member child alice
         unmember parent child",
        expect![[r#"
            sku E3 consumed 0/5
        "#]],
    );
}

#[test]
fn u5_plan_prohibited_in_the_usage_location_is_an_error_for_the_group_bundle() {
    check(
        "seats E5 5
         user alice BN
         user bob -
         country BN
         group staff
         license staff E5
         member staff alice
         member staff bob",
        expect![[r#"
            sku E5 consumed 0/5
            alice E5 staff: Error ProhibitedInUsageLocationViolation (service plan MCOMEETADV is not available in usage location BN)
            bob E5 staff: Error ProhibitedInUsageLocationViolation (service plan MCOMEETADV is not available in usage location BN)
        "#]],
    );
}

/// The per-group counters (users licensed through a group, users with a path from it in error)
/// move by the engine's deltas alone. One row per rule or decision that decides what a group
/// path counts as: the fixture, then the counters by group name afterwards (groups at zero are
/// absent). `check`'s drift also compares the kept counters with a fresh count of the states.
#[test]
fn group_counters_follow_the_engine_for_every_rule() {
    type Row = (
        &'static str,
        &'static str,
        &'static [(&'static str, (i64, i64))],
    );
    let rows: &[Row] = &[
        (
            "G6 a user licensed with two products by one group counts once",
            "seats E3 5
             seats EMS 5
             user alice US
             group staff
             license staff E3
             license staff EMS
             member staff alice",
            &[("staff", (1, 0))],
        ),
        (
            "G6 a direct path counts for no group",
            "seats E3 5
             user alice US
             group staff
             license staff E3
             member staff alice
             direct alice E3",
            &[("staff", (1, 0))],
        ),
        (
            "D2 members of a nested group count for the licensing ancestor",
            "seats E3 5
             user alice US
             group parent
             group child
             license parent E3
             member child alice
             member parent child",
            &[("parent", (1, 0))],
        ),
        (
            "D2 leaving the nested chain takes the count away",
            "seats E3 5
             user alice US
             group parent
             group child
             license parent E3
             member child alice
             member parent child
             unmember parent child",
            &[],
        ),
        (
            "D4 a user without a free seat is in error, not licensed",
            "seats E3 1
             user alice US
             user bob US
             group staff
             license staff E3
             member staff alice
             member staff bob",
            &[("staff", (1, 1))],
        ),
        (
            "D3 the waiting user takes the freed seat: error becomes licensed",
            "seats E3 1
             user alice US
             user bob US
             group staff
             group other
             license staff E3
             license other E3
             member staff alice
             member other bob
             unmember staff alice",
            &[("other", (1, 0))],
        ),
        (
            "G12 D5 a bundle short of one product: both paths in error, the user counted once",
            "seats E3 5
             seats EMS 0
             user alice US
             group staff
             license staff E3
             license staff EMS
             member staff alice",
            &[("staff", (0, 1))],
        ),
        (
            "U5 a plan prohibited in the location is an error of the group",
            "seats E5 5
             user alice BN
             user bob -
             country BN
             group staff
             license staff E5
             member staff alice
             member staff bob",
            &[("staff", (0, 2))],
        ),
        (
            "U5 the error heals when the location changes",
            "seats E5 5
             user alice BN
             group staff
             license staff E5
             member staff alice
             location alice GB",
            &[("staff", (1, 0))],
        ),
        (
            "D12 a retained path is licensed and in error at once",
            "seats E3 5
             seats AC 5
             user alice US
             group staff
             license staff E3
             member staff alice
             direct alice AC
             unmember staff alice",
            &[("staff", (1, 1))],
        ),
        (
            "D12 the retained path goes once the dependency is resolved",
            "seats E3 5
             seats AC 5
             user alice US
             group staff
             license staff E3
             member staff alice
             direct alice AC
             unmember staff alice
             direct alice E3",
            &[],
        ),
        (
            "D7 a soft-deleted user is Disabled: neither licensed nor in error",
            "seats E3 5
             user alice US
             user bob US
             group staff
             license staff E3
             member staff alice
             member staff bob
             delete alice",
            &[("staff", (1, 0))],
        ),
        (
            "D7 restored when short of seats: back, in error",
            "seats E3 1
             user alice US
             user bob US
             group staff
             license staff E3
             member staff alice
             member staff bob
             delete alice
             restore alice",
            &[("staff", (1, 1))],
        ),
        (
            "D7 purged users' states are cleared and their counts go",
            "seats E3 1
             user alice US
             user bob US
             group staff
             license staff E3
             member staff alice
             member staff bob
             purge alice
             purge bob",
            &[],
        ),
        (
            "D8 suspended units keep holders Disabled, licensed",
            "seats E3 2
             user alice US
             group staff
             license staff E3
             member staff alice
             suspend E3",
            &[("staff", (1, 0))],
        ),
        (
            "unlicensing the group takes every count away",
            "seats E3 1
             user alice US
             user bob US
             group staff
             license staff E3
             member staff alice
             member staff bob
             unlicense staff E3",
            &[],
        ),
    ];
    for (name, fixture, want) in rows {
        let mut w = World::new();
        for line in fixture.lines() {
            w.run(line.trim());
        }
        assert_eq!(w.drift(), Vec::<String>::new(), "{name}");
        let want: BTreeMap<String, (i64, i64)> =
            want.iter().map(|(g, c)| (g.to_string(), *c)).collect();
        assert_eq!(w.named_counts(&w.group_counts), want, "{name}");
    }
}

/// The deltas of one replacement, row by row: old states of a user, new states, and the
/// expected `(licensed, errors)` delta of the group (None: the group does not move).
#[test]
fn group_count_deltas_are_new_minus_old_per_user() {
    use crate::licensing::group_count_deltas;
    let g = GroupId(det_id(2, "staff"));
    let (e3, ems) = (SkuId(det_id(3, "e3")), SkuId(det_id(3, "ems")));
    let u = UserId(det_id(1, "alice"));
    let st = |sku: SkuId, source: Source, applied: bool, error: LicenseError| PathState {
        sku,
        source,
        status: if applied {
            PathStatus::Active
        } else {
            PathStatus::Error
        },
        error,
        applied,
        disabled_plans: vec![],
        since: Timestamp(0),
        priority: 0,
        detail: String::new(),
        updated_at: Timestamp(0),
    };
    let ok = |sku| st(sku, Source::Group(g), true, LicenseError::None);
    let short = |sku| st(sku, Source::Group(g), false, LicenseError::CountViolation);
    let retained = |sku| {
        st(
            sku,
            Source::Group(g),
            true,
            LicenseError::DependencyViolation,
        )
    };
    let disabled = |sku| st(sku, Source::Group(g), false, LicenseError::None);
    let direct = |sku| st(sku, Source::Direct, true, LicenseError::None);
    type Row = (
        &'static str,
        Vec<PathState>,
        Vec<PathState>,
        Option<(i64, i64)>,
    );
    let rows: Vec<Row> = vec![
        ("newly licensed", vec![], vec![ok(e3)], Some((1, 0))),
        (
            "G6 two products, one user",
            vec![],
            vec![ok(e3), ok(ems)],
            Some((1, 0)),
        ),
        ("unchanged", vec![ok(e3)], vec![ok(e3)], None),
        (
            "one of two products goes",
            vec![ok(e3), ok(ems)],
            vec![ok(e3)],
            None,
        ),
        (
            "D3 waiting then licensed",
            vec![short(e3)],
            vec![ok(e3)],
            Some((1, -1)),
        ),
        (
            "G12 one short product of the bundle",
            vec![],
            vec![short(e3), short(ems)],
            Some((0, 1)),
        ),
        (
            "D12 retained",
            vec![ok(e3)],
            vec![retained(e3)],
            Some((0, 1)),
        ),
        (
            "D7 soft delete",
            vec![ok(e3)],
            vec![disabled(e3)],
            Some((-1, 0)),
        ),
        (
            "D7 purge of a waiting user",
            vec![short(e3)],
            vec![],
            Some((0, -1)),
        ),
        (
            "purge of a retained path",
            vec![retained(e3)],
            vec![],
            Some((-1, -1)),
        ),
        (
            "direct paths count for no group",
            vec![],
            vec![direct(e3)],
            None,
        ),
    ];
    for (name, old, new, want) in rows {
        let old: Vec<(UserId, PathState)> = old.into_iter().map(|s| (u, s)).collect();
        let new: Vec<(UserId, PathState)> = new.into_iter().map(|s| (u, s)).collect();
        let got = group_count_deltas(&old, &new);
        let want: Vec<(GroupId, i64, i64)> = want.map(|(l, e)| (g, l, e)).into_iter().collect();
        assert_eq!(got, want, "{name}");
    }
}
