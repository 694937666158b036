"""Notifications: one way to tell people that something happened, for every app.

Every notification is enqueued after the act's transaction commits and delivered by one task
that asks the policy, at send time and on the recipient's behalf, whether they may still see the
object; the message names what happened and links to the page, never content.
"""
