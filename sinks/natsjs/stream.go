package natsjs

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ensureStream creates the stream with the configured limits, or updates an existing one
// so that it captures the prefix and has the duplicate window (and the limits set
// explicitly), keeping its other settings.
func (s *Sink) ensureStream(ctx context.Context, js jetstream.JetStream) error {
	subject := s.cfg.SubjectPrefix + ".v1.>"
	st, err := js.Stream(ctx, s.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name: s.cfg.Stream, Subjects: []string{subject}, Storage: jetstream.FileStorage,
			Duplicates: s.cfg.DuplicateWindow, Replicas: s.cfg.Replicas,
			MaxAge: s.cfg.MaxAge, MaxBytes: s.cfg.MaxBytes, Discard: jetstream.DiscardOld,
			Description: "Rhombus change events as CloudEvents (rhombus-bridge)",
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil // another replica created it meanwhile
		}
		if err != nil {
			return fmt.Errorf("natsjs: create stream %s: %w", s.cfg.Stream, err)
		}
		s.cfg.Logger.Info("stream created", "stream", s.cfg.Stream, "subjects", subject,
			"max_age", s.cfg.MaxAge.String(), "max_bytes", s.cfg.MaxBytes, "duplicate_window", s.cfg.DuplicateWindow.String())
		return nil
	}
	if err != nil {
		return fmt.Errorf("natsjs: look up stream %s: %w", s.cfg.Stream, err)
	}
	sc := st.CachedInfo().Config
	if !s.wanted(&sc, subject) {
		return nil
	}
	if _, err := js.UpdateStream(ctx, sc); err != nil {
		return fmt.Errorf("natsjs: update stream %s: %w", s.cfg.Stream, err)
	}
	s.cfg.Logger.Info("stream updated", "stream", s.cfg.Stream, "subjects", sc.Subjects,
		"max_age", sc.MaxAge.String(), "max_bytes", sc.MaxBytes, "duplicate_window", sc.Duplicates.String())
	return nil
}

// wanted changes sc to what the sink needs of an existing stream and reports whether
// anything changed: its subject, the duplicate window, and the limits set explicitly.
func (s *Sink) wanted(sc *jetstream.StreamConfig, subject string) bool {
	changed := sc.Duplicates != s.cfg.DuplicateWindow
	sc.Duplicates = s.cfg.DuplicateWindow
	if !contains(sc.Subjects, subject) {
		sc.Subjects, changed = append(sc.Subjects, subject), true
	}
	if s.cfg.ApplyMaxAge && sc.MaxAge != s.cfg.MaxAge {
		sc.MaxAge, changed = s.cfg.MaxAge, true
	}
	if s.cfg.ApplyMaxBytes && sc.MaxBytes != s.cfg.MaxBytes {
		sc.MaxBytes, changed = s.cfg.MaxBytes, true
	}
	return changed
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
