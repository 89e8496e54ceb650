"""Outgoing email: an outbox table written with the change, and a sender that delivers it.

A view never talks to a mail server. It calls :func:`auth_service.mail.outbox.queue_mail`,
which renders the message and adds a row to the outbox in the view's own transaction: the
message exists exactly when the change that caused it was committed. ``flask send-mail``
(a worker process in production; a background thread in the embedded runner) claims due rows,
hands them to the configured transport (SMTP or ``.eml`` files) and retries with exponential
backoff; after the last try a message is marked failed and shown on the admin mail page.
"""
