"""The KPI report: ``data`` computes one period's figures from the store; ``csv_table`` (one tidy CSV
for BI tools) and ``html_page`` (one self-contained page with charts) render them; ``text`` holds the
words, numbers and money formats the report, rewards and tiers tables share."""
