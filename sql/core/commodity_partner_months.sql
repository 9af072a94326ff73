-- One row per month, partner and flow that has commodity figures (core.commodity_monthly; every
-- such month has chapter rows), with the month a year earlier. core.commodity_half_year, a view,
-- reads it to compare a half with the same months a year earlier: a few thousand rows, against
-- the millions of chapter rows of core.commodity_monthly it would otherwise scan on every read.
-- materialized: incremental by month
select distinct
    year,
    half,
    period,
    cast(period - interval 1 year as date) as period_a_year_earlier,
    partner_iso3,
    flow
from core.commodity_monthly
where hs_level = 2
  -- a run rebuilds only the months it touched (null: all)
  and (getvariable('touched_periods') is null
       or list_contains(getvariable('touched_periods'), period))
