// Package slacknotify is an example downstream consumer of rhombus-bridge: a durable
// JetStream consumer on the policy-alert subjects that posts the creation of alerts with
// high-priority triggers (people, vehicles, faces, plates, crowds by default) to a
// Slack-compatible incoming webhook as {"text": ...}.
//
// Delivery: a message is acknowledged only after the webhook answered 2xx, with a double
// ack (the server confirms the ack), so a crash or a failed post leads to redelivery, not
// to a lost alert. A failed post is negatively acknowledged with a growing delay (the
// webhook's Retry-After when it sends one); a message that is not a CloudEvent is
// terminated (never redelivered) and logged. The guarantee is at least once: a post that
// succeeded but whose ack was lost (process killed in between) is posted again.
// The bridge already guarantees one message per alert (deterministic ids, Nats-Msg-Id).
package slacknotify
