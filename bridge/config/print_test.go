package config

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                                     "",
		"nats://127.0.0.1:4222":                "nats://127.0.0.1:4222",
		"nats://user:pw@127.0.0.1:4222":        "nats://***@127.0.0.1:4222",
		"tls://s3cr3t-token@nats.example:4222": "tls://***@nats.example:4222",
		"nats://u:p@a:4222,nats://u:q@b:4222":  "nats://***@a:4222,nats://***@b:4222",
		"nats://u:p@ss/w@rd@host:4222":         "nats://***@host:4222",
		"u:pw@host:4222":                       "***@host:4222",
		"https://api2.rhombussystems.com":      "https://api2.rhombussystems.com",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStringRedactsURLPasswords: `check` prints URLs with their user-info hidden but the
// host kept, so an operator can still see where the bridge connects.
func TestStringRedactsURLPasswords(t *testing.T) {
	setenv(t, map[string]string{
		"RHOMBUS_API_KEY": "k",
		"NATS_URL":        "nats://bridge:hunter2@127.0.0.1:4222,nats://bridge:hunter3@127.0.0.2:4222",
		"RHOMBUS_API_URL": "https://apiuser:apipass@127.0.0.1:8443",
	})
	c, err := Load(ModeRun)
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	for _, leak := range []string{"hunter2", "hunter3", "apipass", "bridge:", "apiuser"} {
		if strings.Contains(s, leak) {
			t.Errorf("String() shows %q:\n%s", leak, s)
		}
	}
	for _, want := range []string{"NATS_URL=nats://***@127.0.0.1:4222,nats://***@127.0.0.2:4222\n",
		"RHOMBUS_API_URL=https://***@127.0.0.1:8443\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
}

// A malformed URL's problem names it without its password.
func TestProblemsRedactURLPasswords(t *testing.T) {
	setenv(t, map[string]string{
		"RHOMBUS_API_KEY": "k",
		"NATS_URL":        "nats://bridge:hunter%zz2@127.0.0.1:4222",
		"RHOMBUS_WS_URL":  "wss://wsuser:wspass@",
	})
	_, err := Load(ModeRun)
	if err == nil {
		t.Fatal("malformed URLs accepted")
	}
	for _, leak := range []string{"hunter", "wspass"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("problems show %q: %v", leak, err)
		}
	}
	for _, want := range []string{"NATS_URL", "RHOMBUS_WS_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems do not name %s: %v", want, err)
		}
	}
}
