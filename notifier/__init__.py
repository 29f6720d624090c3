"""The outbox worker (`worker`, built by `runtime`) and the sender (`sender`): they send, never decide."""
