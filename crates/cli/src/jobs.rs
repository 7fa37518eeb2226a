//! `skuld job list|retry`: background jobs, their failures and retries (issue 7 item 7).

use crate::args::JobCmd;
use crate::render::{table, Out};
use anyhow::Result;
use serde_json::json;
use skuld_app::{Actor, App, MAX_ATTEMPTS};
use skuld_domain::{Tenant, Timestamp};

fn when(t: Timestamp) -> Option<String> {
    (t.0 > 0).then(|| t.to_rfc3339())
}

pub async fn job(app: &App, t: &Tenant, cmd: JobCmd, out: &Out) -> Result<i32> {
    match cmd {
        JobCmd::List { all } => {
            let jobs = app.jobs(t, all, &Actor::Operator).await?;
            let waiting = |j: &skuld_app::JobRow| {
                (j.state == "QueuedForProcessing" && j.attempts > 0)
                    .then(|| when(j.next_attempt_at))
                    .flatten()
            };
            out.emit(
                json!(jobs
                    .iter()
                    .map(|v| {
                        let j = &v.job;
                        json!({"id": j.id.to_string(), "kind": j.kind, "groupId": j.target_id.to_string(),
                               "group": v.group, "state": j.state, "attempts": j.attempts, "maxAttempts": MAX_ATTEMPTS,
                               "runs": j.runs, "lastError": (!j.last_error.is_empty()).then_some(&j.last_error),
                               "nextAttempt": waiting(j), "result": j.result,
                               "createdDateTime": j.created_at.to_rfc3339(), "updatedDateTime": j.updated_at.to_rfc3339()})
                    })
                    .collect::<Vec<_>>()),
                || {
                    if jobs.is_empty() {
                        println!(
                            "no {}jobs",
                            if all { "" } else { "open or failed " }
                        );
                        return;
                    }
                    let rows = jobs
                        .iter()
                        .map(|v| {
                            let j = &v.job;
                            vec![
                                j.id.to_string(),
                                v.group.clone().unwrap_or_else(|| format!("(deleted) {}", j.target_id)),
                                j.state.clone(),
                                format!("{}/{MAX_ATTEMPTS}", j.attempts),
                                if j.last_error.is_empty() { j.result.clone() } else { j.last_error.clone() },
                                waiting(j).unwrap_or_default(),
                            ]
                        })
                        .collect();
                    println!(
                        "{}",
                        table(&["Job", "Group", "State", "Failed attempts", "Last error / result", "Next retry"], rows)
                    );
                },
            );
        }
        JobCmd::Retry { id } => {
            let r = app.retry_job(t, &id, &Actor::Operator).await?;
            out.emit(
                json!({"id": id, "members": r.members, "succeeded": r.succeeded, "failed": r.failed, "healed": r.healed}),
                || println!("job {id} ran: users successfully assigned licenses: {}, users for whom license assignment failed: {}", r.succeeded, r.failed),
            );
        }
    }
    Ok(0)
}
