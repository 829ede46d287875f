// Package rhombus is the bridge's Rhombus client: the live change feed (STOMP 1.2 over a
// WebSocket, with liveness and a reconnect loop that never gives up) and the REST client
// every other Rhombus call goes through (rate limit, Retry-After, retries with backoff).
//
// The feed: the Subscriber opens the WebSocket (x-auth-apikey header, x-auth-scheme as
// query parameter and header, x-auth-org for partner tokens, 10 s handshake timeout),
// wraps it in WSConn (a net.Conn over WebSocket messages, so STOMP frames may be split
// across messages or packed several to one) and speaks STOMP itself with go-stomp's frame
// codec: CONNECT with accept-version 1.2, host set and heart-beat offered both ways; the
// STOMP 1.2 intervals are negotiated here from both headers, WSConn sends the client's
// heart-beats and enforces a read deadline of 2 × the server's interval + a grace,
// refreshed by every byte that arrives, so a half-open connection is declared dead in
// time even if it still answers pings. The SUBSCRIBE asks for a RECEIPT: the
// subscription counts only once the server accepted it (the RECEIPT, else the first
// MESSAGE or a later heart-beat). ERROR frames keep their message header and body
// (StompError).
//
// Subscriber.Run keeps one subscription to /topic/change/{org} alive forever: after an
// accepted subscription it reconnects at once (within a budget of 20 a minute), failures
// to connect back off with full jitter, refusals (HTTP error at the handshake, ERROR
// before the subscription was accepted) from 1 s; every disconnect is classified (Cause),
// logged once and counted. A context cancelled with ErrAbandon aborts the socket at once
// (leadership lost); any other end of the context disconnects politely.
//
// Client is the REST client (getOrgV2, getPolicyAlertsV2 with defensive paging, camera
// names with a TTL cache, getPolicyAlertDetails, webhook settings); Enricher adds device
// names and completes bare nested alerts within a bounded wait.
package rhombus
