// Package stream is everything between the MQTT broker and what the
// Telemetry view and `fleetdeck telemetry tail` show.
//
//	broker ─paho─▶ handler (enqueue only) ─▶ inbox (bounded) ─▶ decode ─▶ dedup ─▶ Store
//	                                                                       │
//	                                               OnMessage (tail) ◀──────┤
//	                                                  Feed (UI, 10 Hz) ◀───┘
//
// A Pipeline owns one source (the MQTT session, or a recording being
// replayed) and one Store of the latest value per vehicle/capability/
// property. The paho handler only stamps and queues; one goroutine decodes
// (scanning the payload for the few fields it needs, keeping the value as
// raw JSON), drops redeliveries by message_id, and applies. Every string
// from the wire is made terminal-safe (termsafe) on the way in. The Feed
// turns changes into coalesced batches for any number of subscribers, so the
// UI never sees one message per MQTT message.
//
// Both of High Mobility's formats are read, told apart by the payload's
// version: V1 (one property a message, named by the topic
// [/]live|sandbox/level13/{app_id}/{vehicle}/{capability}/get/{property})
// and V2 (one topic per application, several capabilities a message, every
// property a list). A property is a value {data|failure, timestamp} or a
// list of such items (Message.List, Property.List): the store keeps the
// newest list whole.
package stream
