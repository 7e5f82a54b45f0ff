package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Setting returns the value of a setting of the box.
func (s *Store) Setting(key string) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.st.settings[key]
	return append([]byte(nil), v...), ok
}

// SetSetting stores a setting durably; a nil value deletes it. Values are at
// most 1 MiB.
func (s *Store) SetSetting(ctx context.Context, key string, value []byte) error {
	if err := s.writable(); err != nil {
		return err
	}
	if key == "" || len(key) > 256 || len(value) > 1<<20 {
		return fmt.Errorf("%w: setting %q of %d bytes", ErrBadName, key, len(value))
	}
	_, err := s.commit(mkrec(&recSettingP{key: key, present: value != nil, value: value}))
	return err
}

// SettingKeys lists the keys that begin with prefix, sorted.
func (s *Store) SettingKeys(prefix string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for k := range s.st.settings {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
