package manyorgs_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Rhombus signs org webhooks with HMAC-SHA1
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// TestOrgChanges: an org added to RHOMBUS_ORGS_FILE is subscribed within 5 s and one
// removed is unsubscribed within 5 s; one org's key revoked (401) leaves it unsubscribed
// and reported, and another org's REST answering 429, while every other org keeps its
// subscription and delivers every alert (the 429 org too: its live feed does not wait
// for REST).
func TestOrgChanges(t *testing.T) {
	w := newWorld(t, 8)
	all := w.orgs
	listed, extra := all[:6], all[6]
	w.orgs = listed
	w.writeOrgs(listed)
	w.startReplicas(2)
	waitFor(t, "2 replicas share 6 orgs", 60*time.Second, w.balanced(w.reps, 4))
	w.generate(all[:6], 3)
	before := subscribeCounts(w, all)

	w.orgs = append(listed[:6:6], extra)
	w.writeOrgs(w.orgs)
	added := time.Now()
	waitFor(t, "the added org subscribed", 5*time.Second+slack(), func() string {
		if w.subscriptions([]string{extra})[extra] != 1 {
			return "not subscribed"
		}
		return ""
	})
	t.Logf("org added to the file: subscribed after %v", time.Since(added).Round(time.Millisecond))
	w.generate([]string{extra}, 3) // from now on: what came before it was listed is not the bridge's

	removed := listed[0]
	w.orgs = w.orgs[1:]
	w.writeOrgs(w.orgs)
	at := time.Now()
	waitFor(t, "the removed org unsubscribed", 5*time.Second+slack(), func() string {
		if n := w.subscriptions([]string{removed})[removed]; n != 0 {
			return fmt.Sprintf("%d subscriptions", n)
		}
		return ""
	})
	t.Logf("org removed from the file: unsubscribed after %v", time.Since(at).Round(time.Millisecond))

	revoked := w.orgs[0]
	w.sim.Revoke(revoked)
	waitFor(t, "the revoked org reported unsubscribed", 10*time.Second, func() string {
		for _, r := range w.reps {
			st, err := r.status()
			if err != nil {
				return err.Error()
			}
			for _, o := range st.Orgs {
				if o.OrgUUID == revoked && !o.Subscribed && !st.Subscribed {
					return ""
				}
			}
		}
		return "no replica reports " + revoked + " led and unsubscribed"
	})
	limited := w.orgs[1]
	w.sim.Org(limited).REST429(1<<30, 2*time.Second) // its REST answers 429 from now on
	checkWebhook(t, w, w.orgs[2])
	time.Sleep(3 * time.Second) // the others keep delivering meanwhile
	for _, o := range all {
		_ = w.sim.Org(o).StopGenerators()
	}
	after := subscribeCounts(w, all)
	for _, o := range listed[1:] {
		if o != revoked && after[o] != before[o] {
			t.Errorf("org %s was disturbed: %d subscriptions before the changes, %d after", o, before[o], after[o])
		}
	}
	var others []string
	for _, o := range w.orgs {
		if o != revoked {
			others = append(others, o)
		}
	}
	w.stream.checkAlerts(t, w.alerts(others), 30*time.Second)
	if !strings.Contains(strings.Join(others, ","), extra) {
		t.Fatal("the added org is not among those checked")
	}
}

func subscribeCounts(w *world, orgs []string) map[string]int {
	out := map[string]int{}
	for _, o := range orgs {
		out[o] = len(w.sim.Org(o).SubscribeTimes())
	}
	return out
}

// checkWebhook posts an org webhook for org, signed with its secret, to a replica that
// does not lead it (every replica receives webhooks): 200 and the event is in the stream
// under that org; the same body at another org's path is refused.
func checkWebhook(t *testing.T, w *world, org string) {
	t.Helper()
	body := []byte(`{"summary":"Movement detected","deviceUuid":"CAM1","alertUuid":"WEBHOOKALERT1",` +
		`"activityTrigger":"MOTION","durationSec":3,"version":"2","timestampMs":` +
		strconv.FormatInt(time.Now().UnixMilli(), 10) + `}`)
	mac := hmac.New(sha1.New, []byte(secretOf(org)))
	mac.Write(body)
	sig := hex.EncodeToString(mac.Sum(nil))
	send := func(r *replica, path string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+r.webhook+"/webhooks/rhombus/"+path, bytes.NewReader(body))
		req.Header.Set("x-rhombus-signature-sha1", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, r := range w.reps {
		if got := send(r, w.orgs[3]); got != http.StatusUnauthorized {
			t.Errorf("%s: %s's webhook at another org's path: %d, want 401", r.id, org, got)
		}
		if got := send(r, org); got != http.StatusOK {
			t.Errorf("%s: %s's webhook: %d, want 200", r.id, org, got)
		}
	}
	waitFor(t, "the webhook alert in the stream", 5*time.Second, func() string { // read back asynchronously
		if w.stream.count(event.AlertID("WEBHOOKALERT1")) == 0 {
			return "not yet"
		}
		return "" // and once only: checkAlerts checks every id
	})
}
