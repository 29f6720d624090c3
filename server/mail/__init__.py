"""E-mail: which mail goes when (`mailing`, the only module that decides) and pure renderers.

`mailing` is called by the domain's actions and queues rendered mails in the outbox
(`server.storage.outbox`); `notifier/` sends them later. The renderers (`mails`, `transcript`,
`ics`) take documents and return text, HTML or bytes: no database, no Services.
"""
