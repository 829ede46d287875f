package rhombus

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/pipetest"
)

const partnerToken = "partner-token"

// startPartnerSim serves n orgs opened by partnerToken.
func startPartnerSim(t *testing.T, n int) *sim.Multi {
	t.Helper()
	m, err := sim.StartMulti(sim.MultiConfig{PartnerKey: partnerToken, Logger: quietLogger()}, "127.0.0.1:0", n, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// partnerClient is org's client on the partner token, its own budget 100/s, sharing cred.
func partnerClient(t *testing.T, m *sim.Multi, org string, cred *rate.Limiter) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{APIURL: m.URL(), APIKey: partnerToken, AuthScheme: "partner-api-token",
		PartnerOrg: org, Rate: 100, Credential: cred, RetryBase: 10 * time.Millisecond, Logger: quietLogger(),
		Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCredentialBudgetIsShared: four orgs on one partner token, each allowed 100 req/s,
// calling as fast as they can for 1.5 s make no more calls together than the credential's
// 10 req/s (burst 10), and every org gets some.
func TestCredentialBudgetIsShared(t *testing.T) {
	m := startPartnerSim(t, 4)
	cred := NewCredentialBudget(10)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for _, org := range m.Orgs() {
		c := partnerClient(t, m, org, cred)
		wg.Go(func() {
			for ctx.Err() == nil {
				_, _ = c.OrgUUID(ctx)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	total := 0
	for _, org := range m.Orgs() {
		n := len(m.Org(org).CallsTo("/api/org/getOrgV2"))
		if n == 0 {
			t.Errorf("org %s made no call: the shared budget starved it", org)
		}
		total += n
	}
	if most := 10 + int(10*elapsed.Seconds()) + 1; total > most {
		t.Fatalf("%d calls in %s on one credential: more than its budget allows (%d)", total, elapsed, most)
	}
	t.Logf("%d calls in %s from 4 orgs sharing a 10 req/s credential", total, elapsed.Round(time.Millisecond))
}

// TestOneOrgs429HoldsOnlyThatOrg: org B's REST answers 429 with Retry-After 3 s; org C,
// on the same partner token and credential budget, keeps calling at once meanwhile.
func TestOneOrgs429HoldsOnlyThatOrg(t *testing.T) {
	m := startPartnerSim(t, 2)
	orgB, orgC := m.Orgs()[0], m.Orgs()[1]
	cred := NewCredentialBudget(10)
	b, c := partnerClient(t, m, orgB, cred), partnerClient(t, m, orgC, cred)
	m.Org(orgB).REST429(-1, 3*time.Second)
	bctx, stopB := context.WithCancel(context.Background())
	bDone := make(chan struct{})
	go func() { defer close(bDone); _, _ = b.OrgUUID(bctx) }()
	defer func() { stopB(); <-bDone }()
	sb := m.Org(orgB)
	if err := sb.Wait(ctxT(t, 10*time.Second), func() bool { return len(sb.Calls()) > 0 }); err != nil {
		t.Fatal("org B made no call:", err)
	}
	// B met its 429; its client holds for 3 s once it read the answer (the simulator
	// counts the call before that).
	pipetest.WaitFor(t, "org B's client to hold", 2*time.Second, func() bool { return b.heldFor() > 0 })

	start := time.Now()
	for range 5 {
		if _, err := c.OrgUUID(ctxT(t, 10*time.Second)); err != nil {
			t.Fatalf("org C: %v", err)
		}
	}
	took := time.Since(start)
	select {
	case <-bDone:
		t.Fatal("org B's call ended during its Retry-After")
	default:
	}
	if held := b.heldFor(); took > 2*time.Second || held <= 0 {
		t.Fatalf("org C's 5 calls took %s (B held for %s more): B's 429 slowed C", took, held)
	}
	if c.heldFor() > 0 {
		t.Fatal("org C's client is held by org B's Retry-After")
	}
}

// TestEnrichmentNeverWaitsForOtherOrgs: while other orgs' calls hold the API key's
// budget for seconds ahead, a call marked WithoutQueueing (enrichment) fails at once,
// taking nothing from either budget, instead of holding the org's event.
func TestEnrichmentNeverWaitsForOtherOrgs(t *testing.T) {
	m := startPartnerSim(t, 1)
	cred := NewCredentialBudget(1)
	for range 4 { // other orgs' calls queue 3 s ahead on the credential
		cred.Reserve()
	}
	c := partnerClient(t, m, m.Orgs()[0], cred)
	start := time.Now()
	_, err := c.OrgUUID(WithoutQueueing(ctxT(t, 10*time.Second)))
	if took := time.Since(start); !errors.Is(err, ErrPastDeadline) || took > 200*time.Millisecond {
		t.Fatalf("%v after %s; want ErrPastDeadline at once", err, took)
	}
	if n := len(m.Org(m.Orgs()[0]).Calls()); n != 0 {
		t.Fatalf("%d calls reached the server", n)
	}
	if tokens := c.limiter.Tokens(); tokens < 99 {
		t.Fatalf("the org's budget lost a token to a call that was not made (%.1f left)", tokens)
	}
}
