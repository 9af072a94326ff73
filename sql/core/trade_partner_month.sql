-- The figure the marts show for each partner, month (or January-February pair), flow and
-- currency, by precedence: detailed data over a preliminary table, and within each kind the
-- latest vintage (core.trade_finest_level_totals, core.trade_preliminary_latest). A preliminary figure
-- counts only where no detailed month of its span exists, so a January-February cumulative
-- gives way as soon as January or February detail arrives; it is never split by guess.
with

detailed as (
    select
        period as period_start,
        period,
        cast(1 as tinyint) as months_covered,
        partner_code,
        flow,
        currency,
        sum(value) as value,
        'detailed' as source_kind,
        list(distinct release_id order by release_id) as release_ids
    -- the finest level's rows added up per release (a few thousand rows a month, not all of
    -- core.trade_detailed)
    from core.trade_finest_level_totals
    group by period, partner_code, flow, currency
),

preliminary as (
    select
        period_start,
        period,
        months_covered,
        partner_code,
        flow,
        currency,
        value,
        'preliminary' as source_kind,
        [release_id] as release_ids
    from core.trade_preliminary_latest
    where label_kind = 'partner'
      and flow in ('export', 'import')
),

preliminary_not_superseded as (
    select preliminary.*
    from preliminary
    where preliminary.value is not null
      and not exists (
          select 1
          from detailed
          where detailed.partner_code = preliminary.partner_code
            and detailed.flow = preliminary.flow
            and detailed.currency = preliminary.currency
            and detailed.period between preliminary.period_start and preliminary.period
      )
)

select * from detailed
union all
select * from preliminary_not_superseded
