"""The sandbox: Slack and Stripe on one laptop, for `make run` with no Slack tokens.

`slack_api` (a fake Slack Web API) and `slack_requests` (Slack's signed requests) serve the
tests and the sandbox alike; `workspace` is the Slack-like page and its JSON API, `runner`
starts localstripe, the app and the page together, and `demo` makes the demo account.
"""
