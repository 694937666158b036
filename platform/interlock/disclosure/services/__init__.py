"""Every write to a disclosure case, by concern: `cases` (open, reviewers, comments, withdraw),
`reviews` (votes, decisions, repin), `embargo`, `release` (the scheduler's), and `shared`
(the gate every action enters through, audit, notifications, sealing)."""
