-- The loaded releases the marts may use, each ranked within its slot, latest vintage first
-- (the order of meta.release_vintages). `set variable as_of = date '...'` before building the
-- marts (customs-etl as-of) keeps only what was known by then; unset, everything counts.
-- A preliminary table's figures are then ranked row by row in core.trade_preliminary_latest.
select
    release_id,
    kind,
    flow,
    period,
    currency,
    source_name,
    slot as slot_name,
    published_on,
    received_at,
    known_on,
    vintage_key,
    row_number() over (
        partition by
            kind,
            case when kind = 'detailed_export'
                then concat_ws('|', flow, period, slot)
                else concat_ws('|', period, currency)
            end
        order by vintage_key desc
    ) as vintage_rank
from meta.release_vintages
where status = 'loaded'
  and (getvariable('as_of') is null or known_on <= getvariable('as_of'))
