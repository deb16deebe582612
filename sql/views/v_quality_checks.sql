create or replace view v_quality_checks as

with results as (

    select * from quality_checks

),

latest_run as (

    select
        run_id
    from results
    order by
        checked_at desc,
        run_id desc
    limit 1

),

final as (

    select
        results.run_id,
        results.check_name,
        results.severity,
        results.failing_rows,
        results.sample,
        results.checked_at,
        results.scope,
        results.check_sha,
        -- pipeline/checks.py records a check whose SQL failed with NULL failing_rows
        case
            when results.failing_rows is null then 'broken'
            when results.failing_rows = 0 then 'passed'
            else 'failed'
        end as outcome,
        results.run_id = latest_run.run_id as is_latest_run
    from results

    cross join latest_run

)

select * from final;

comment on view v_quality_checks is 'One row per run and data-quality check (sql/checks/*.sql): its severity (error or warn), how many rows it flagged with up to 5 of their keys, and its outcome: passed (no row), failed (rows flagged) or broken (its SQL failed: the error is in sample, severity error). is_latest_run marks the checks of the run that checked last; scope says whether they looked at that run''s sessions or the whole warehouse.';
comment on column v_quality_checks.run_id is 'The run after whose load the check ran.';
comment on column v_quality_checks.check_name is 'The check: its file name in sql/checks.';
comment on column v_quality_checks.severity is 'error or warn.';
comment on column v_quality_checks.failing_rows is 'Rows the check flagged; NULL when its SQL failed.';
comment on column v_quality_checks.sample is 'Up to 5 keys of flagged rows, as text; the error when its SQL failed.';
comment on column v_quality_checks.checked_at is 'When the check ran.';
comment on column v_quality_checks.scope is 'run: the check looked at the sessions of its run (a night); warehouse: at every row (--full, --from-raw, --full-checks, a new or changed check, or a check of the clock such as analysis_overdue). NULL for checks run before the exporter recorded it.';
comment on column v_quality_checks.check_sha is 'The first 16 hex digits of the SHA-256 of the check''s SQL file: which version of the check ran.';
comment on column v_quality_checks.outcome is 'passed, failed or broken (its SQL failed).';
comment on column v_quality_checks.is_latest_run is 'True for the checks of the run that checked last.';
