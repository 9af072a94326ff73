-- The loaded releases the marts may use, each ranked within its slot, latest vintage first.
-- A release is known from its publication date where the name or page gives one, else from
-- the day the job received it. `set variable as_of = date '...'` before building the marts
-- (customs-etl as-of) keeps only what was known by then; unset, everything counts.
-- Slots: a detailed export is one download (flow, month and file name without its publication
-- date: a file of another month under the same name is another download, not a revision);
-- a preliminary table is one period and currency (its figures are ranked row by row in
-- core.trade_headline_latest).
with

loaded as (
    select
        *,
        coalesce(published_on, cast(received_at as date)) as known_on
    from meta.releases
    where status = 'loaded'
)

select
    release_id,
    kind,
    flow,
    period,
    currency,
    source_name,
    coalesce(slot_name, source_name) as slot_name,
    published_on,
    received_at,
    known_on,
    row_number() over (
        partition by
            kind,
            case when kind = 'detailed_export'
                then concat_ws('|', flow, period, coalesce(slot_name, source_name))
                else concat_ws('|', period, currency)
            end
        order by known_on desc, received_at desc, release_id desc
    ) as vintage_rank
from loaded
where getvariable('as_of') is null or known_on <= getvariable('as_of')
