# SPDX-License-Identifier: Apache-2.0
"""Stream consumers: feed events from Redis Streams or NATS JetStream into the store.

One job: move messages from a `Source` (fetch a batch, ack ids, dead-letter) through the same
validation and ingestion as `POST /v1/events`, acknowledging only what the store accepted.
May import `gateway.visitors`, `gateway.context`, `gateway.config`, `gateway.serving` and
`gateway.common`; never `gateway.http`. The broker clients (redis, nats-py) are imported
lazily by their source module.
"""
