package event

import (
	"reflect"
	"testing"
)

// FuzzScanMatchesDecode checks that the fast path decodes every payload it accepts
// exactly as encoding/json does, so taking it never changes an event.
func FuzzScanMatchesDecode(f *testing.F) {
	for _, s := range []string{
		`{"entity":"POLICY_ALERT","entityUuid":"a","type":"CREATE","deviceUuid":"d","timestampMs":1711843200000,"durationSec":5.2,"policyAlertTriggers":["P","L"],"textDescription":"é x","locationUuid":"l"}`,
		`{"entity":"POLICY_ALERT","update":{"uuid":"u","deviceUuid":"d","timestampMs":5,"x":[1,{"y":null}]},"extra":{"a":[true,false]}}`,
		`{"entity":"X","Entity":"Y"}`, `{"entity":"X","entity":"Y"}`, `{"entity":"X","timestampMs":1.5}`,
		`{"entity":"X","timestampMs":"5"}`, `{"entity":"X","durationSec":-1}`, `{"entity":"X","durationSec":1e400}`,
		`{"entity":"X","policyAlertTriggers":[]}`, `{"entity":"X","update":null}`, `{"entity":"a\u00e9"}`,
		`{"entity":"X","ſtype":"K"}`, `{"entity":"X",}`, `{"entity":"X"} x`, `{"entity":"X","n":01}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := scanChange(b)
		if !ok {
			return
		}
		slow, err := decodeJSON(b)
		if err != nil {
			t.Fatalf("fast path accepted %q, encoding/json rejects it: %v", b, err)
		}
		if !reflect.DeepEqual(norm(fast), norm(slow)) {
			t.Fatalf("%q:\nfast %+v\njson %+v", b, fast, slow)
		}
	})
}

// norm makes an empty trigger list nil: both mean "none" to fill.
func norm(c change) change {
	if len(c.PolicyAlertTriggers) == 0 {
		c.PolicyAlertTriggers = nil
	}
	if c.Update != nil {
		u := *c.Update
		if len(u.PolicyAlertTriggers) == 0 {
			u.PolicyAlertTriggers = nil
		}
		c.Update = &u
	}
	return c
}
