package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// orgRE is what an org uuid may hold: it becomes a subject token, a KV key part, a URL
// path segment and a STOMP destination, so it is kept to letters, digits, _ and -.
var orgRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// MaxOrgs bounds the org list: every org costs a lease, a subscription and a pipeline.
const MaxOrgs = 10000

// OrgEntry is one line of RHOMBUS_ORGS_FILE (or one uuid of RHOMBUS_ORGS, without a key).
type OrgEntry struct {
	UUID   string
	APIKey string // that org's own key (scheme api-token); empty: RHOMBUS_API_KEY
}

// MultiOrg reports whether many organisations are configured (RHOMBUS_ORGS or
// RHOMBUS_ORGS_FILE set).
func (r Rhombus) MultiOrg() bool { return len(r.Orgs) > 0 || r.OrgsFile != "" }

// ValidOrg reports whether s can be an org uuid.
func ValidOrg(s string) bool { return orgRE.MatchString(s) }

func orgList(p *problems, v string) []string {
	out := list(v)
	for _, o := range out {
		if !ValidOrg(o) {
			p.add("RHOMBUS_ORGS", "%q is not an org uuid (1-64 letters, digits, _ and -)", o)
		}
	}
	return out
}

// checkMultiOrg validates the Rhombus settings of multi-org mode.
func checkMultiOrg(c Rhombus, p *problems) {
	if c.OrgUUID != "" || c.PartnerOrgUUID != "" {
		p.add("RHOMBUS_ORGS", "many organisations (RHOMBUS_ORGS, RHOMBUS_ORGS_FILE) exclude RHOMBUS_ORG_UUID and RHOMBUS_PARTNER_ORG_UUID")
	}
	if c.OrgsFile == "" {
		return
	}
	if _, err := ReadOrgsFile(c.OrgsFile); err != nil {
		p.add("RHOMBUS_ORGS_FILE", "%v", err)
	}
}

// crossCheckOrgs validates what many organisations need of the other settings.
func crossCheckOrgs(c *Config, p *problems) {
	if !c.Rhombus.MultiOrg() {
		if c.Webhook.SecretsFile != "" {
			p.add("WEBHOOK_SECRETS_FILE", "only with many organisations (RHOMBUS_ORGS or RHOMBUS_ORGS_FILE); one org uses WEBHOOK_SECRET")
		}
		return
	}
	if len(c.Webhook.Secrets) > 0 {
		p.add("WEBHOOK_SECRET", "with many organisations each org has its own path and secret: use WEBHOOK_SECRETS_FILE")
	}
	if c.Webhook.SecretsFile != "" {
		if _, err := ReadSecretsFile(c.Webhook.SecretsFile); err != nil {
			p.add("WEBHOOK_SECRETS_FILE", "%v", err)
		}
	}
}

// ReadOrgsFile reads and parses RHOMBUS_ORGS_FILE.
func ReadOrgsFile(path string) ([]OrgEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return ParseOrgs(b)
}

// ParseOrgs parses lines "ORG_UUID" or "ORG_UUID API_KEY"; blank lines and # comments are
// skipped. Every bad line is reported; a uuid listed twice is an error.
func ParseOrgs(b []byte) ([]OrgEntry, error) {
	var out []OrgEntry
	var bad []string
	seen := map[string]bool{}
	eachLine(b, func(n int, f []string) {
		switch {
		case len(f) > 2:
			bad = append(bad, fmt.Sprintf("line %d: want ORG_UUID [API_KEY], got %d fields", n, len(f)))
		case !ValidOrg(f[0]):
			bad = append(bad, fmt.Sprintf("line %d: %q is not an org uuid (1-64 letters, digits, _ and -)", n, f[0]))
		case seen[f[0]]:
			bad = append(bad, fmt.Sprintf("line %d: org %s listed twice", n, f[0]))
		default:
			seen[f[0]] = true
			e := OrgEntry{UUID: f[0]}
			if len(f) == 2 {
				e.APIKey = f[1]
			}
			out = append(out, e)
		}
	})
	if len(out) > MaxOrgs {
		bad = append(bad, fmt.Sprintf("%d orgs, at most %d", len(out), MaxOrgs))
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return out, nil
}

// ReadSecretsFile reads WEBHOOK_SECRETS_FILE: lines "ORG_UUID SECRET[,SECRET...]".
func ReadSecretsFile(path string) (map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return ParseSecrets(b)
}

// ParseSecrets parses lines "ORG_UUID SECRET[,SECRET...]"; an org on several lines gets
// the secrets of all of them.
func ParseSecrets(b []byte) (map[string][]string, error) {
	out := map[string][]string{}
	var bad []string
	eachLine(b, func(n int, f []string) {
		switch {
		case len(f) != 2:
			bad = append(bad, fmt.Sprintf("line %d: want ORG_UUID SECRET[,SECRET...]", n))
		case !ValidOrg(f[0]):
			bad = append(bad, fmt.Sprintf("line %d: %q is not an org uuid", n, f[0]))
		case len(list(f[1])) == 0:
			bad = append(bad, fmt.Sprintf("line %d: no secret", n))
		default:
			out[f[0]] = append(out[f[0]], list(f[1])...)
		}
	})
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return out, nil
}

// eachLine calls f with the 1-based number and the fields of every line that is not blank
// or a # comment. A field that starts with # starts a comment; a # inside a key or secret
// is kept.
func eachLine(b []byte, f func(n int, fields []string)) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		fs := strings.Fields(sc.Text())
		for i, v := range fs {
			if strings.HasPrefix(v, "#") {
				fs = fs[:i]
				break
			}
		}
		if len(fs) > 0 {
			f(n, fs)
		}
	}
}
