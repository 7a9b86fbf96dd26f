"""Reports on a cadence: the daily warning report, the ten-day report (旬报) and the monthly
quality report per unit, as HTML pages and PDF files, emailed to subscribers."""
