-- The figure the marts show for each partner, month (or January-February pair), flow and
-- currency, by precedence: detailed data over a preliminary table, and within each kind the
-- latest vintage (core.trade_finest_level_totals, core.trade_preliminary_latest). A preliminary figure
-- counts only where no detailed month of its span exists, so a January-February cumulative
-- gives way as soon as January or February detail arrives; it is never split by guess.
-- While the marts are rebuilt for some months (`touched_periods`; null: all), only the years of
-- those months and the year before are read, whole (a January-February figure and the months
-- it spans stay together; the year before: the year-on-year columns). The months are spelled
-- out in the filter itself so that it reaches the scan of core.trade_detailed_totals.
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
    -- the years being rebuilt and the year before (null: all)
    where getvariable('touched_periods') is null
       or list_contains(
           flatten([
               [cast(make_date(year(touched) - 1 + i // 12, i % 12 + 1, 1) as date)
                for i in range(24)]
               for touched in cast(getvariable('touched_periods') as date[])
           ]),
           period
       )
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
      and (getvariable('touched_periods') is null
           or list_contains(
               flatten([
                   [cast(make_date(year(touched) - 1 + i // 12, i % 12 + 1, 1) as date)
                    for i in range(24)]
                   for touched in cast(getvariable('touched_periods') as date[])
               ]),
               period_start
           ))
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
