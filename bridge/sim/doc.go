// Package sim is a faithful, scriptable Rhombus simulator for local work and tests.
//
// One Server serves, on one listener:
//
//   - the change feed: STOMP 1.2 over WebSocket at /websocket, with the handshake's
//     x-auth-apikey header and x-auth-scheme query parameter checked, heart-beats
//     negotiated per STOMP 1.2, SUBSCRIBE to /topic/change/{org}, RECEIPT and DISCONNECT;
//   - the REST endpoints the bridge uses (getOrgV2, getPolicyAlertsV2 with a page cap,
//     inclusive bounds and optional newest-first order, getMinimalCameraStateList,
//     getPolicyAlertDetails, the webhook integration settings), every call recorded;
//   - an admin API under /_sim/ so another process can inject faults, create alerts, run
//     the event generator and read statistics.
//
// Fault switches (DropConnections, CloseFrame, SendError, GoSilent, RefuseHandshakes,
// RefuseConnect and RefuseSubscribe (STOMP ERROR with a body), IgnoreClientSilence,
// IgnoreDisconnect, REST429, REST5xx) and framing modes (frames packed several to a WebSocket message, split
// across messages, preceded by EOLs) exercise a client's failure paths. Alerts created with
// CreateAlert or by the Generator are kept in the REST history whether or not they could be
// emitted live, like real Rhombus, which does not replay what a disconnected client missed.
//
// SendWebhook signs bodies the way Rhombus does (HMAC-SHA1 for org webhooks, HMAC-SHA256
// for rule webhooks, lowercase hex of the raw body).
package sim
