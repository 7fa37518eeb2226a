//! One fixture per rulebook rule or decision, named after it. Lines: `seats SKU N`, `suspend SKU`,
//! `user NAME LOC|-`, `group NAME [prio=N]`, `member GROUP USER|GROUP`, `unmember …`,
//! `direct USER SKU [-PLAN …]`, `undirect USER SKU`, `license GROUP SKU [-PLAN …]`,
//! `unlicense GROUP SKU`, `delete USER`, `restore USER`, `location USER LOC|-`.

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
