-- One row per month, partner, flow and 6-digit code as traded, from 2017: China's 6-digit
-- series on one HS edition (HS 2017) across the January 2022 break. Months of HS 2017 keep
-- their code; months of HS 2022 take UNSD's conversion (the one HS 2017 code UNSD gives each
-- HS 2022 code) with the pair's relationship, so an analyst sees where the figure is exact
-- (1:1, n:1: the HS 2022 code lies wholly inside its HS 2017 code) and where it is assigned by
-- assumption (1:n, n:n: its trade may belong partly to other HS 2017 codes). Months before
-- 2017 (HS 2012) are left out: no correlation table is kept for them.
-- A view over core.commodity_monthly's 6-digit rows (as marts.trade_by_commodity_monthly is over
-- all of them): stored as a table it wrote 7M rows a year at national scale a second time and
-- took half of the marts stage (55 s of 110 s at the benchmark's full scale).
with

editions as (
    select * from staging.stg_hs_editions
    where hs_edition in ('HS2017', 'HS2022')
),

six_digit as (
    select
        monthly.period,
        monthly.partner_iso3,
        monthly.flow,
        editions.hs_edition,
        monthly.hs_code,
        monthly.value_usd,
        monthly.quantity,
        monthly.quantity_unit
    from core.commodity_monthly as monthly
    inner join editions
        on monthly.period >= editions.first_period
       and (editions.last_period is null or monthly.period <= editions.last_period)
    where monthly.hs_level = 6
),

conversion as (
    select 'HS2022' as hs_edition, hs2022_code, hs2017_code, relationship
    from staging.stg_hs2022_hs2017
    where is_conversion
),

converted as (
    select
        six_digit.*,
        case when six_digit.hs_edition = 'HS2017' then six_digit.hs_code
             else conversion.hs2017_code end as hs2017_code,
        conversion.relationship
    from six_digit
    -- Equalities only (the edition a column of the conversion): with `six_digit.hs_edition =
    -- 'HS2022'` in the condition the join was a nested loop, 190 ms for one partner's chapter
    -- series at medium scale.
    left join conversion
        on conversion.hs_edition = six_digit.hs_edition
       and conversion.hs2022_code = six_digit.hs_code
)

select
    converted.period,
    converted.partner_iso3,
    converted.flow,
    converted.hs_edition,
    converted.hs_code,
    converted.hs2017_code,
    converted.relationship,
    coalesce(
        converted.hs_edition = 'HS2017' or converted.relationship in ('1:1', 'n:1'), false
    ) as is_exact,
    (
        select descriptions.description_en
        from core.commodity_descriptions as descriptions
        where descriptions.hs_code = converted.hs2017_code
          and descriptions.hs_level = 6
    ) as hs2017_description,
    converted.value_usd,
    converted.quantity,
    converted.quantity_unit
from converted
