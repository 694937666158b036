"""Writes about analysis requests, one module per concern.

- `requester`: what the requester does — a request checked and recorded, a job cancelled.
- `dispatch`: a signed ticket built for each attempt and sent to the worker queue, and the sweep
  that recovers requests whose message was lost or whose lease expired.
- `jobs`: the worker job protocol the internal job API calls — claim under a lease, progress,
  the sealed result, failure.

The broker only rings the doorbell: a ticket id can be claimed once, a request is leased
with `SELECT … FOR UPDATE SKIP LOCKED`, deliveries are capped, and one result per request is
a unique constraint — so a redelivered or replayed message records nothing twice.
Reads (metrics, a job's input blobs, a series' inputs) live in `interlock.analyses.selectors`.
"""
