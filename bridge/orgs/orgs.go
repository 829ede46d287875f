package orgs

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
)

// Org is one organisation the bridge serves.
type Org struct {
	UUID    string
	APIKey  string   // that org's own key (scheme api-token); empty: the partner token
	Secrets []string // webhook secrets for {WEBHOOK_PATH}/{UUID}; empty: no webhooks
}

// Set is the org list at one moment, sorted by uuid.
type Set []Org

// Find returns the org with uuid, if listed.
func (s Set) Find(uuid string) (Org, bool) {
	i, ok := slices.BinarySearchFunc(s, uuid, func(o Org, u string) int { return cmpString(o.UUID, u) })
	if !ok {
		return Org{}, false
	}
	return s[i], true
}

// UUIDs lists the orgs' uuids in order.
func (s Set) UUIDs() []string {
	out := make([]string, len(s))
	for i, o := range s {
		out[i] = o.UUID
	}
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Source reads the org list and the webhook secrets and follows changes to their files.
type Source struct {
	fixed       []string
	orgsFile    string
	secretsFile string
	poll        time.Duration
	log         *slog.Logger

	orgs    fileState
	secrets fileState
	entries []config.OrgEntry
	secs    map[string][]string
}

// DefaultPoll is how often the files are checked for a change.
const DefaultPoll = time.Second

// NewSource reads from c (RHOMBUS_ORGS, RHOMBUS_ORGS_FILE) and secretsFile
// (WEBHOOK_SECRETS_FILE, may be empty). poll 0 means DefaultPoll.
func NewSource(c config.Rhombus, secretsFile string, poll time.Duration, log *slog.Logger) *Source {
	if poll <= 0 {
		poll = DefaultPoll
	}
	if log == nil {
		log = slog.Default()
	}
	return &Source{fixed: c.Orgs, orgsFile: c.OrgsFile, secretsFile: secretsFile, poll: poll, log: log}
}

// Load reads both files now; an error names the file that cannot be read or parsed.
func (s *Source) Load() (Set, error) {
	if _, err := s.refresh(); err != nil {
		return nil, err
	}
	return s.set(), nil
}

// Run checks the files every poll interval until ctx ends and calls onChange with the new
// set whenever it differs from the last one. A file that fails to parse is logged and the
// last good set stays in force.
func (s *Source) Run(ctx context.Context, onChange func(Set)) error {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		changed, err := s.refresh()
		if err != nil {
			if err.Error() != lastErr {
				s.log.Error("org list unchanged: cannot use the new file", "error", err)
			}
			lastErr = err.Error()
			continue
		}
		lastErr = ""
		if changed {
			set := s.set()
			s.log.Info("org list changed", "orgs", len(set))
			onChange(set)
		}
	}
}

// refresh re-reads whichever file changed and reports whether anything did.
func (s *Source) refresh() (bool, error) {
	changed := false
	if s.orgsFile != "" {
		b, ok, err := s.orgs.read(s.orgsFile)
		if err != nil {
			return false, fmt.Errorf("RHOMBUS_ORGS_FILE: %w", err)
		}
		if ok {
			e, err := config.ParseOrgs(b)
			if err != nil {
				s.orgs.forget()
				return false, fmt.Errorf("RHOMBUS_ORGS_FILE %s: %w", s.orgsFile, err)
			}
			s.entries, changed = e, true
		}
	}
	if s.secretsFile != "" {
		b, ok, err := s.secrets.read(s.secretsFile)
		if err != nil {
			return false, fmt.Errorf("WEBHOOK_SECRETS_FILE: %w", err)
		}
		if ok {
			m, err := config.ParseSecrets(b)
			if err != nil {
				s.secrets.forget()
				return false, fmt.Errorf("WEBHOOK_SECRETS_FILE %s: %w", s.secretsFile, err)
			}
			s.secs, changed = m, true
		}
	}
	return changed, nil
}

// set combines RHOMBUS_ORGS with the file (a file line's key wins) and the secrets.
func (s *Source) set() Set {
	byUUID := map[string]Org{}
	for _, u := range s.fixed {
		byUUID[u] = Org{UUID: u}
	}
	for _, e := range s.entries {
		byUUID[e.UUID] = Org{UUID: e.UUID, APIKey: e.APIKey}
	}
	out := make(Set, 0, len(byUUID))
	for u, o := range byUUID {
		o.Secrets = s.secs[u]
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Org) int { return cmpString(a.UUID, b.UUID) })
	return out
}

// fileState is what was last read of a file, to notice a change.
type fileState struct {
	sum  [sha256.Size]byte
	seen bool
}

// read returns the file's bytes and true when its content differs from the last read.
// The content is compared, not the modification time: a ConfigMap update swaps a symlink
// and may keep both size and time.
func (f *fileState) read(path string) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	sum := sha256.Sum256(b)
	if f.seen && sum == f.sum {
		return nil, false, nil
	}
	f.sum, f.seen = sum, true
	return b, true, nil
}

// forget makes the next read count as a change (the last content did not parse).
func (f *fileState) forget() { f.seen = false }
