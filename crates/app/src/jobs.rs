//! Durable jobs (D13) and their runner: claiming a job under a lease, running it, recording a
//! failure with backoff, and the job list of `skuld job` (issue 7 item 7).
//!
//! A worker (the server's, or any CLI command at start) claims a job with one conditional
//! UPDATE that succeeds only when nobody holds an unexpired lease, so two processes never run
//! one job at the same time; a crashed worker's lease expires and the job runs again. A job
//! that errors is rolled back, recorded with its reason and queued again after an exponential
//! backoff; after [`MAX_ATTEMPTS`] failures it stays `ProcessingFailed` until `skuld job
//! retry`. A failing job never stops the other jobs or the command that ran them.

use crate::audit::{Actor, Audit};
use crate::licenses::{audit_license_changes, FanoutResult, GROUP_LICENSE_JOB};
use crate::reconcile::{reconcile, transitive_user_members, Groups};
use crate::{App, AppError, Result};
use skuld_domain::licensing::Source;
use skuld_domain::{GroupId, Tenant, Timestamp};
use skuld_store::{JobRow, JOB_COMPLETE, JOB_FAILED, JOB_IN_PROGRESS, JOB_QUEUED};
use std::time::Duration;

/// Failed runs after which a job is given up (`ProcessingFailed`).
pub const MAX_ATTEMPTS: i64 = 5;
/// Backoff after the first failure; doubled after each further one (2 s, 4 s, 8 s, 16 s).
const BACKOFF_MS: i64 = 2_000;
/// How long a claim holds a job. Correctness does not rest on it: the work runs under the
/// tenant's write lock, which a competing claim also takes, and commits only together with the
/// completion by the lease's owner. The lease covers the gap between the claim and the start of
/// the work, and decides how soon a job whose worker died runs again.
const LEASE_MS: i64 = 5_000;
/// How long a command that queued a job waits for another worker that claimed it first.
const WAIT_FOR_OTHER_WORKER: Duration = Duration::from_secs(600);

/// A job as `skuld job list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    pub job: JobRow,
    /// The target group's name, if the group still exists.
    pub group: Option<String>,
}

/// What one attempt to run a job did.
enum Run {
    /// Not due, already done, or held by another worker.
    Skipped,
    Done(FanoutResult),
    /// The job failed (recorded); the error that made it fail.
    Failed(AppError),
}

fn backoff(attempts_before: i64) -> i64 {
    BACKOFF_MS << attempts_before.clamp(0, 20)
}

fn summary(r: &FanoutResult) -> String {
    format!(
        "members {}, succeeded {}, failed {}, healed {}, changed {}",
        r.members, r.succeeded, r.failed, r.healed, r.changed
    )
}

fn from_summary(s: &str) -> FanoutResult {
    let mut r = FanoutResult::default();
    for part in s.split(", ") {
        let Some((k, v)) = part.split_once(' ') else {
            continue;
        };
        let v = v.parse().unwrap_or(0);
        match k {
            "members" => r.members = v,
            "succeeded" => r.succeeded = v,
            "failed" => r.failed = v,
            "healed" => r.healed = v,
            "changed" => r.changed = v,
            _ => {}
        }
    }
    r
}

impl App {
    /// Runs one job now if it is due and nobody else holds it. `Ok(None)` if it is unknown,
    /// complete, not due or held by another worker; `Err` if it failed (recorded on the job).
    pub async fn run_job(&self, tenant: &Tenant, job: uuid::Uuid) -> Result<Option<FanoutResult>> {
        match self.run_job_at(tenant, job, crate::now()).await? {
            Run::Skipped => Ok(None),
            Run::Done(r) => Ok(Some(r)),
            Run::Failed(e) => Err(e),
        }
    }

    /// Runs a job the caller just queued and waits for it: the caller's own run, or — when
    /// another worker (a server on the same database) claimed it first — that worker's, polled
    /// until the job is complete or failed.
    pub(crate) async fn run_job_to_end(
        &self,
        tenant: &Tenant,
        job: uuid::Uuid,
    ) -> Result<FanoutResult> {
        let deadline = std::time::Instant::now() + WAIT_FOR_OTHER_WORKER;
        loop {
            if let Some(r) = self.run_job(tenant, job).await? {
                return Ok(r);
            }
            let mut tx = self.store().read(tenant.id).await?;
            let j = tx.job(job).await?;
            tx.commit().await?;
            match j {
                None => return Err(AppError::NotFound(format!("job {job} does not exist"))),
                Some(j) if j.state == JOB_COMPLETE => return Ok(from_summary(&j.result)),
                Some(j) if j.state == JOB_FAILED || (j.state == JOB_QUEUED && j.attempts > 0) => {
                    return Err(AppError::BadRequest(format!(
                        "the group license change is recorded, but applying it failed: {} (see `skuld job list`)",
                        j.last_error
                    )))
                }
                Some(_) if std::time::Instant::now() > deadline => {
                    return Err(AppError::BadRequest(format!(
                        "the group license change is recorded; job {job} is still running elsewhere (see `skuld job list`)"
                    )))
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    async fn run_job_at(&self, tenant: &Tenant, job: uuid::Uuid, now: Timestamp) -> Result<Run> {
        let owner = self.worker_id();
        let mut tx = self.store().write(tenant.id).await?;
        let claimed = tx
            .claim_job(job, owner, now, Timestamp(now.0 + LEASE_MS))
            .await?;
        tx.commit().await?;
        if !claimed {
            return Ok(Run::Skipped);
        }
        match self.apply_job(tenant, job).await {
            Ok(Some(r)) => Ok(Run::Done(r)),
            // The lease was lost before the work began: another worker has the job.
            Ok(None) => Ok(Run::Skipped),
            Err(e) => {
                let mut tx = self.store().write(tenant.id).await?;
                let attempts = tx.job(job).await?.map(|j| j.attempts).unwrap_or(0);
                let retry = (attempts + 1 < MAX_ATTEMPTS)
                    .then(|| Timestamp(crate::now().0.max(now.0) + backoff(attempts)));
                let text = e.to_string();
                tx.fail_job(job, owner, &text, retry, crate::now()).await?;
                tx.commit().await?;
                tracing::warn!(%job, attempts = attempts + 1, error = %text, gave_up = retry.is_none(), "job failed");
                Ok(Run::Failed(e))
            }
        }
    }

    /// The work of a claimed job, in one transaction under the tenant's lock; its result is
    /// committed only together with the completion of the job this worker still holds.
    async fn apply_job(&self, tenant: &Tenant, job: uuid::Uuid) -> Result<Option<FanoutResult>> {
        let owner = self.worker_id();
        let (mut tx, cx) = self.begin(tenant).await?;
        let Some(j) = tx
            .job(job)
            .await?
            .filter(|j| j.state == JOB_IN_PROGRESS && j.lease_owner == owner)
        else {
            return Ok(None);
        };
        if j.kind != GROUP_LICENSE_JOB {
            return Err(AppError::Corrupt(format!(
                "job {} has an unknown kind '{}'",
                j.id, j.kind
            )));
        }
        let Some(g) = tx.group(GroupId(j.target_id)).await? else {
            // The group was deleted meanwhile (only possible once its licenses were removed).
            tx.complete_job(j.id, owner, "group deleted", cx.now)
                .await?;
            tx.commit().await?;
            return Ok(Some(FanoutResult::default()));
        };
        let groups = Groups::load(&mut tx).await?;
        // The job checks the intent it applies: a group license naming a product the tenant's
        // catalog does not have is inconsistent data, not a license error of the members.
        for a in groups.licenses.get(&g.id).map(Vec::as_slice).unwrap_or(&[]) {
            if cx.catalog.product(&a.sku_id).is_none() {
                return Err(AppError::Corrupt(format!(
                    "group '{}' is assigned product {}, which is not in the tenant's catalog",
                    g.display_name, a.sku_id
                )));
            }
        }
        let t = std::time::Instant::now();
        let members = transitive_user_members(&mut tx, &groups, g.id).await?;
        tracing::debug!(members = members.len(), took = ?t.elapsed(), "group members loaded");
        let r = reconcile(&mut tx, &cx, &groups, &members, &[]).await?;
        let failed = r
            .outcomes
            .iter()
            .filter(|o| {
                o.states.iter().any(|s| {
                    s.source == Source::Group(g.id)
                        && !s.applied
                        && s.status == skuld_domain::licensing::PathStatus::Error
                })
            })
            .count();
        let result = FanoutResult {
            members: members.len(),
            succeeded: members.len() - failed,
            failed,
            healed: r.healed.len(),
            changed: r.changed,
        };
        let system = Actor::System;
        let mut sys = Audit::new(&system, cx.now);
        sys.push(
            "GroupManagement",
            "Start applying group based license to users",
            "Group",
            g.id.to_string(),
            g.display_name.clone(),
            vec![],
            None,
        );
        audit_license_changes(&mut sys, &mut tx, &r).await?;
        sys.push(
            "GroupManagement",
            "Finish applying group based license to users",
            "Group",
            g.id.to_string(),
            g.display_name.clone(),
            vec![("Result", String::new(), format!("[Users successfully assigned licenses: {}, Users for whom license assignment failed: {}.];", result.succeeded, result.failed))],
            None,
        );
        tx.insert_audit(&sys.rows).await?;
        if !tx
            .complete_job(j.id, owner, &summary(&result), cx.now)
            .await?
        {
            // Cannot happen while we hold the tenant lock (claims take it too); never commit
            // work for a job this worker does not hold.
            return Ok(None);
        }
        let t = std::time::Instant::now();
        tx.commit().await?;
        tracing::debug!(took = ?t.elapsed(), "group license committed");
        Ok(Some(result))
    }

    /// Runs every due job of every tenant, oldest first (the server's worker, and before every
    /// CLI command the jobs a previous process left behind). A job that fails is recorded and
    /// the others still run. Returns how many completed.
    pub async fn run_open_jobs(&self) -> Result<usize> {
        self.run_due_jobs(crate::now()).await
    }

    /// [`App::run_open_jobs`] as of `now` (tests pass a clock to step through the backoff).
    pub async fn run_due_jobs(&self, now: Timestamp) -> Result<usize> {
        let mut ran = 0;
        for tid in self.store().tenants_with_open_jobs().await? {
            let Some(tenant) = self.tenant_by_id(tid).await? else {
                continue;
            };
            let jobs = {
                let mut tx = self.store().read(tid).await?;
                let v = tx.open_jobs().await?;
                tx.commit().await?;
                v
            };
            for j in jobs {
                if j.next_attempt_at > now || j.lease_until > now {
                    continue;
                }
                match self.run_job_at(&tenant, j.id, now).await {
                    Ok(Run::Done(_)) => ran += 1,
                    Ok(Run::Skipped | Run::Failed(_)) => {}
                    // The store itself failed (not the job): try the other jobs all the same.
                    Err(e) => tracing::error!(job = %j.id, error = %e, "cannot run job"),
                }
            }
        }
        Ok(ran)
    }

    /// Runs due jobs until none is left that is waiting only for a worker — one queued and never
    /// failed, or held under a lease (a live worker finishing it, or a dead one whose lease is
    /// about to expire) — or until `patience` runs out. Jobs in backoff after a failure are not
    /// waited for. The CLI calls this before every command, so a command sees the directory
    /// with the group license changes applied (D13). Returns how many this call completed.
    pub async fn settle_jobs(&self, patience: Duration) -> Result<usize> {
        let deadline = std::time::Instant::now() + patience;
        let mut ran = 0;
        loop {
            ran += self.run_open_jobs().await?;
            let mut waiting = false;
            for tid in self.store().tenants_with_open_jobs().await? {
                let mut tx = self.store().read(tid).await?;
                let open = tx.open_jobs().await?;
                tx.commit().await?;
                waiting |= open
                    .iter()
                    .any(|j| j.state == JOB_IN_PROGRESS || j.attempts == 0);
            }
            if !waiting || std::time::Instant::now() >= deadline {
                return Ok(ran);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The tenant's jobs, newest first: those not complete, or every job with `all`.
    pub async fn jobs(&self, tenant: &Tenant, all: bool, actor: &Actor) -> Result<Vec<JobView>> {
        if !actor.may(crate::authz::Action::AssignGroupLicense) {
            return Err(AppError::forbidden());
        }
        let mut tx = self.store().read(tenant.id).await?;
        let jobs = tx.jobs(all).await?;
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            let group = tx
                .group(GroupId(job.target_id))
                .await?
                .map(|g| g.display_name);
            out.push(JobView { job, group });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Queues a failed job (or one waiting for its backoff) again with a fresh count of
    /// attempts, and runs it now.
    pub async fn retry_job(
        &self,
        tenant: &Tenant,
        job: &str,
        actor: &Actor,
    ) -> Result<FanoutResult> {
        if !actor.may(crate::authz::Action::AssignGroupLicense) {
            return Err(AppError::forbidden());
        }
        let id: uuid::Uuid = job
            .trim()
            .parse()
            .map_err(|_| AppError::BadRequest(format!("'{job}' is not a job id")))?;
        let mut tx = self.store().write(tenant.id).await?;
        let Some(j) = tx.job(id).await? else {
            return Err(AppError::NotFound(format!("job {id} does not exist")));
        };
        if !tx.retry_job(id, crate::now()).await? {
            return Err(AppError::BadRequest(format!(
                "job {id} is {}: only a failed or waiting job can be retried",
                j.state
            )));
        }
        tx.commit().await?;
        self.run_job_to_end(tenant, id).await
    }

    /// Graph `licenseProcessingState` of a group: `ProcessingInProgress` while a worker runs
    /// one of its jobs, `QueuedForProcessing` while one waits (also for a retry after a
    /// failure), else `ProcessingComplete` — Graph has no other values; a job given up is
    /// shown by `skuld job list`.
    pub async fn license_processing_state(
        &self,
        tenant: &Tenant,
        group: GroupId,
    ) -> Result<String> {
        let mut tx = self.store().read(tenant.id).await?;
        let open = tx.open_jobs_for(group.0).await?;
        tx.commit().await?;
        let now = crate::now();
        Ok(if open
            .iter()
            .any(|j| j.state == JOB_IN_PROGRESS && j.lease_until > now)
        {
            JOB_IN_PROGRESS
        } else if open.is_empty() {
            JOB_COMPLETE
        } else {
            JOB_QUEUED
        }
        .to_string())
    }
}
