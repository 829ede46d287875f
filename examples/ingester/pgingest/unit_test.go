package pgingest

import (
	"encoding/json"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestNewValidates(t *testing.T) {
	pool, _ := database(t)
	bad := []Config{
		{Pool: pool},                       // no brokers
		{Brokers: []string{"127.0.0.1:1"}}, // no pool
		{Brokers: []string{"127.0.0.1:1"}, Pool: pool, Table: "x; DROP TABLE y"},
		{Brokers: []string{"127.0.0.1:1"}, Pool: pool, Table: "a.b.c"},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	g, err := New(Config{Brokers: []string{"127.0.0.1:1"}, Pool: pool, Table: "Mixed.Events"})
	if err != nil || g.table != `"Mixed"."Events"` {
		t.Errorf("quoted table %q, %v", g.table, err)
	}
}

func TestToRowInvalid(t *testing.T) {
	r := toRow(&kgo.Record{Topic: "t", Partition: 2, Offset: 7, Value: []byte{0xff, 0x00}})
	if r.id != "kafka:t/2/7" || r.typ != "com.rhombussystems.invalid.v1" || r.time != nil {
		t.Errorf("row %+v", r)
	}
	var d struct {
		Invalid   bool
		RawBase64 string
	}
	if err := json.Unmarshal(r.data, &d); err != nil || !d.Invalid || d.RawBase64 != "/wA=" {
		t.Errorf("data %s: %v", r.data, err)
	}
}
