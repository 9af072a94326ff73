-- What does each side ship? The largest 4-digit headings each way in H1 2025.
with

h1_2025 as (
    select
        flow,
        hs_code,
        any_value(hs_description) as hs_description,
        sum(value_usd) as value_usd
    from marts.trade_by_commodity_monthly
    where partner_iso3 = 'PRK'
      and hs_level = 4
      and period between date '2025-01-01' and date '2025-06-01'
    group by flow, hs_code
),

ranked as (
    select
        *,
        row_number() over (partition by flow order by value_usd desc, hs_code) as rank
    from h1_2025
)

select flow, rank, hs_code, hs_description, cast(value_usd as bigint) as value_usd
from ranked
where rank <= 5
order by flow, rank
